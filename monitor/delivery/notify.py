"""Send one message through Apprise and say what happened; never raise.

One call sends one message (one Telegram chunk, one email) with no retries and no waiting: the
dispatcher owns retries, pacing and backoff. What this wrapper adds to Apprise 2.3:

- A fresh ``Apprise`` object per call, with the plugin's own retries (``?retry=``), throttle
  (email sleeps 5.5 s between sends of one object) and overflow splitting switched off.
- ``add()`` returning False and a NOMATCH outcome count as failures.
- Telegram 429: Apprise ignores ``retry_after``; it is read back from what the plugin logged
  (Telegram's "retry after N" description, or the ``retry_after`` of the response body).
- Failures that no retry can fix (a chat that does not exist, a revoked token, an SMTP 5xx, a URL
  that cannot work) come back ``permanent`` with a reason the operator can act on
  (``monitor.delivery.failures``), so the dispatcher gives up at once instead of after hours.
- Secrets (tokens, passwords from the URL) are scrubbed from every error and from Apprise's log
  records (``scrub.py``), which are routed to the ``monitor.delivery.notify.apprise`` logger.
- What is particular to a kind of channel (a check Apprise does not make, the API it talks to, which
  answers are permanent) is asked of its class in ``monitor.delivery.channels``, found by URL scheme.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache

import apprise
from apprise import AppriseAsset, NotifyFormat
from apprise.common import OverflowMode, PersistentStoreMode
from apprise.plugins.base import NotifyBase

from monitor.delivery.channels import Channel, channel_for
from monitor.delivery.scrub import (
    MASK,
    SECRETS,
    captured,
    configure_logging,
    plugin_secrets,
    plugin_url,
    scrub,
    url_secrets,
)

BODY_FORMATS = {
    "text": NotifyFormat.TEXT,
    "html": NotifyFormat.HTML,
    "markdown": NotifyFormat.MARKDOWN,
}
MAX_ERROR_CHARS = 600

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """Outcome of one send. ``retry_after``: seconds the service asked us to wait (429).
    ``permanent``: retrying cannot help; ``error`` then says what to fix."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False


# --- channel URLs -----------------------------------------------------------------------------


def _asset() -> AppriseAsset:
    return AppriseAsset(async_mode=False, storage_mode=PersistentStoreMode.MEMORY)


@cache
def _known_schemes() -> frozenset[str]:
    schemes: set[str] = set()
    for service in apprise.Apprise().details().get("schemas", []):
        for key in ("protocols", "secure_protocols"):
            schemes.update(p.lower() for p in (service.get(key) or ()))
    return frozenset(schemes)


def _instantiate(url: str, channel: Channel) -> tuple[NotifyBase | None, str | None]:
    """The configured plugin for ``url``, or why there is none (message already scrubbed)."""
    configure_logging()
    if not isinstance(url, str) or "://" not in url:
        return None, "not an Apprise URL (expected scheme://…)"
    SECRETS.add(url_secrets(url))
    scheme = url.split("://", 1)[0].lower()
    with captured() as capture:
        plugin = apprise.Apprise.instantiate(url, asset=_asset())
    if plugin is None:
        if scheme not in _known_schemes():
            return None, f"unknown scheme {scheme}:// (not an Apprise service)"
        said = "; ".join(
            m.replace(url, f"{scheme}://…")
            for level, m in capture.messages
            if level >= logging.WARNING
        )
        return None, scrub(f"Apprise rejected this {scheme}:// URL" + (f": {said}" if said else ""))
    SECRETS.add(plugin_secrets(plugin))
    problem = channel.check(plugin)
    if problem:
        return None, problem
    return plugin, None


def validate_channel_url(url: str) -> str | None:
    """Why ``url`` cannot be used as a channel (unknown scheme, rejected by Apprise,
    TLS mode that cannot work, …), or None when it looks usable. Sends nothing."""
    try:
        plugin, problem = _instantiate(url, channel_for(url))
        if plugin is None:
            return problem
        if not apprise.Apprise(asset=_asset()).add(plugin):
            return "Apprise refused to load this URL"
        return None
    except Exception as exc:  # Apprise bugs must not take the caller down
        return scrub(f"{type(exc).__name__}: {exc}")


def redact(url: str) -> str:
    """The URL in Apprise's privacy form (secrets as ****), for logs and CLI output."""
    try:
        configure_logging()
        SECRETS.add(url_secrets(url))
        with captured():
            plugin = apprise.Apprise.instantiate(url, asset=_asset())
        if plugin is not None:
            SECRETS.add(plugin_secrets(plugin))
            return scrub(plugin_url(plugin, privacy=True))
    except Exception:  # fall through to the blunt form
        log.debug("could not parse a channel URL for redaction", exc_info=False)
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://{MASK}"


# --- sending ----------------------------------------------------------------------------------


def _prepare(plugin: NotifyBase, channel: Channel) -> None:
    """One attempt, no sleeping, no splitting: the dispatcher paces, retries and chunks."""
    plugin.retry = 0
    plugin.wait = 0.0
    plugin.request_rate_per_sec = 0
    plugin.overflow_mode = OverflowMode.UPSTREAM
    channel.prepare(plugin)


_RETRY_AFTER_RES = (
    re.compile(r"""["']?retry_after["']?\s*[:=]\s*([0-9]+(?:\.[0-9]+)?)"""),
    re.compile(r"retry after ([0-9]+(?:\.[0-9]+)?)", re.IGNORECASE),
)


def _retry_after(messages: list[str]) -> float | None:
    for message in messages:
        for pattern in _RETRY_AFTER_RES:
            match = pattern.search(message)
            if match:
                return float(match.group(1))
    return None


def _describe(status: str, entries: list[tuple[str, str]]) -> str:
    """Warnings first, then the low-level exception Apprise only logs at DEBUG."""
    said = [m for level, m in entries if level in ("WARNING", "ERROR", "CRITICAL")]
    detail = [
        m.split(":", 1)[1].strip()
        for level, m in entries
        if level == "DEBUG" and m.startswith("Socket Exception:")
    ]
    return _clip("; ".join(dict.fromkeys(said + detail)) or f"Apprise reported {status}")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def send(url: str, *, title: str, body: str, body_format: str) -> SendResult:
    """Send one message (one chunk) to one Apprise URL; a failure is a result, not an exception.

    ``body_format`` is ``text``, ``html`` or ``markdown``. For Telegram pass ``title=""``: the
    renderer puts the title in the first chunk, and Apprise would otherwise prepend it.
    """
    if body_format not in BODY_FORMATS:
        return SendResult(False, f"unknown body_format {body_format!r}")
    try:
        channel = channel_for(url)
        plugin, problem = _instantiate(url, channel)
        if plugin is None:  # the URL cannot work until the configuration changes
            return SendResult(False, f"channel URL: {problem}", permanent=True)
        try:
            _prepare(plugin, channel)
        except ValueError as exc:  # e.g. TOCSIN_TELEGRAM_API_URL is not a URL
            return SendResult(False, scrub(str(exc)), permanent=True)
        apobj = apprise.Apprise(asset=_asset())
        if not apobj.add(plugin):
            return SendResult(False, "channel URL: Apprise refused to load it", permanent=True)
        result = apobj.notify(
            body=body, title=title, body_format=BODY_FORMATS[body_format], log_level=logging.DEBUG
        )
        status = result.status.name
        if status == "SUCCESS":
            return SendResult(True)
        entries = [(e.level, scrub(e.message)) for e in result.logs()]
        retry_after = _retry_after([m for _, m in entries])
        verdict = channel.classify([m for _, m in entries]) if retry_after is None else None
        if verdict is not None and verdict.permanent and verdict.reason:
            return SendResult(False, scrub(_clip(verdict.reason)), permanent=True)
        return SendResult(False, scrub(_describe(status, entries)), retry_after)
    except Exception as exc:  # sending returns a result, never raises
        return SendResult(False, scrub(f"{type(exc).__name__}: {exc}"))
