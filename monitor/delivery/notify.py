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
  records, which this module routes to the ``monitor.delivery.notify.apprise`` logger.

Setting ``TOCSIN_TELEGRAM_API_URL`` (e.g. ``http://127.0.0.1:8081``) points Telegram at another
Bot API server: a self-hosted ``telegram-bot-api`` or the fake one in tests. Default:
``https://api.telegram.org``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, urlsplit

import apprise
from apprise import AppriseAsset, NotifyFormat
from apprise.common import OverflowMode, PersistentStoreMode
from apprise.plugins.base import NotifyBase
from apprise.plugins.email import NotifyEmail
from apprise.plugins.email.common import SecureMailMode
from apprise.plugins.telegram import NotifyTelegram

from monitor.delivery.failures import Verdict, classify

TELEGRAM_API_ENV = "TOCSIN_TELEGRAM_API_URL"
DEFAULT_TELEGRAM_API = "https://api.telegram.org"
BODY_FORMATS = {
    "text": NotifyFormat.TEXT,
    "html": NotifyFormat.HTML,
    "markdown": NotifyFormat.MARKDOWN,
}
MAX_ERROR_CHARS = 600

log = logging.getLogger(__name__)
_apprise_log = logging.getLogger("monitor.delivery.notify.apprise")


@dataclass(frozen=True)
class SendResult:
    """Outcome of one send. ``retry_after``: seconds the service asked us to wait (429).
    ``permanent``: retrying cannot help; ``error`` then says what to fix."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False


# --- secrets ----------------------------------------------------------------------------------

# A Telegram bot token anywhere in a string (bot id, colon, 30+ characters of secret).
_BOT_TOKEN_RE = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")
_URL_PIECES_RE = re.compile(r"[/:@?&=#,]+")
_MASK = "****"
_MAX_REMEMBERED = 2048


class _SecretRegistry:
    """Secrets of every URL this process has handled, scrubbed from all text we emit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._ordered: list[str] = []

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            fresh = {v for v in values if v and v not in self._secrets}
            if not fresh:
                return
            self._secrets |= fresh
            if len(self._secrets) > _MAX_REMEMBERED:
                self._secrets = fresh
            self._ordered = sorted(self._secrets, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        text = _BOT_TOKEN_RE.sub(_MASK, text)
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, _MASK)
        return text


_SECRETS = _SecretRegistry()


def scrub(text: str) -> str:
    """``text`` with every known secret and anything shaped like a bot token masked."""
    return _SECRETS.scrub(text)


def _with_encodings(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value, safe="@:")}


def _plugin_url(plugin: NotifyBase, *, privacy: bool) -> str:
    return str(plugin.url(privacy=privacy))  # type: ignore[no-untyped-call]


def _plugin_secrets(plugin: NotifyBase) -> set[str]:
    """Values Apprise marks private, plus URL pieces that its privacy form hides."""
    found: set[str] = set()
    specs = {**plugin.template_tokens, **plugin.template_args}
    for key, spec in specs.items():
        if not (isinstance(spec, dict) and spec.get("private")):
            continue
        value = getattr(plugin, str(spec.get("map_to", key)), None)
        if isinstance(value, str) and len(value) >= 3:
            found |= _with_encodings(value)
    public = set(_URL_PIECES_RE.split(_plugin_url(plugin, privacy=True)))
    for piece in _URL_PIECES_RE.split(_plugin_url(plugin, privacy=False)):
        if len(piece) >= 4 and piece not in public:
            found.add(piece)
    return found


def _url_secrets(url: str) -> set[str]:
    """The password (and bot-token-like host) of a raw URL, before any parsing succeeds."""
    found: set[str] = set()
    match = re.match(r"^[A-Za-z0-9+.-]+://([^/?#]*)", url)
    if match is None:
        return found
    authority = match.group(1)
    userinfo, _, host = authority.rpartition("@")
    if ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        if len(password) >= 3:
            found |= _with_encodings(password)
    # No user part but a colon not followed by a port: a token such as tgram://ID:SECRET/…
    if not userinfo and re.search(r":(?![0-9]*$)", host):
        found |= {host, host.removeprefix("bot")}
    return found


# --- logging ----------------------------------------------------------------------------------


class _ScrubFilter(logging.Filter):
    """Mask secrets in a record before any handler (Apprise's result capture included) sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record; leave it to logging's own error path
            return True
        record.msg, record.args = scrub(message), None
        return True


class _Forward(logging.Handler):
    """Re-log Apprise's (scrubbed) records under our own logger name."""

    def emit(self, record: logging.LogRecord) -> None:
        if _apprise_log.isEnabledFor(record.levelno):
            _apprise_log.log(record.levelno, "%s", record.getMessage())


class _ThreadCapture(logging.Handler):
    """Collect this thread's Apprise records while a plugin is being instantiated."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.messages: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append((record.levelno, record.getMessage()))


_logging_ready = threading.Lock()
_logging_done = False


def _configure_logging() -> None:
    """Let Apprise log at DEBUG into its result capture, scrubbed, and never straight to root."""
    global _logging_done
    with _logging_ready:
        if _logging_done:
            return
        scrubber = _ScrubFilter()
        apprise_logger = logging.getLogger("apprise")
        apprise_logger.setLevel(logging.DEBUG)
        apprise_logger.propagate = False
        apprise_logger.addFilter(scrubber)
        apprise_logger.addHandler(_Forward())
        # requests' connection pool logs request lines, with the bot token in the path.
        logging.getLogger("urllib3.connectionpool").addFilter(scrubber)
        _logging_done = True


@contextmanager
def _captured() -> Iterator[_ThreadCapture]:
    handler = _ThreadCapture()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


# --- channel URLs -----------------------------------------------------------------------------


def telegram_api_prefix() -> str:
    """The Bot API prefix a token is appended to, from ``TOCSIN_TELEGRAM_API_URL``."""
    base = (os.environ.get(TELEGRAM_API_ENV) or DEFAULT_TELEGRAM_API).strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{TELEGRAM_API_ENV} must be an http(s) URL, got {base!r}")
    return base if base.endswith("/bot") else f"{base}/bot"


def _asset() -> AppriseAsset:
    return AppriseAsset(async_mode=False, storage_mode=PersistentStoreMode.MEMORY)


def _check_email(plugin: NotifyBase) -> str | None:
    assert isinstance(plugin, NotifyEmail)
    mode, port = plugin.secure_mode, plugin.port
    if mode == SecureMailMode.INSECURE and port == 465:
        return (
            "mailto:// on port 465 sends plaintext to a port that expects TLS from the first byte "
            "(it just times out); use mailtos://…:465?mode=ssl"
        )
    if mode == SecureMailMode.STARTTLS and port == 465:
        return "port 465 speaks implicit TLS, not STARTTLS; add ?mode=ssl"
    if mode == SecureMailMode.SSL and port in (25, 587):
        return f"port {port} speaks STARTTLS, not implicit TLS; use ?mode=starttls"
    host = (plugin.smtp_host or plugin.host or "").lower()
    if (
        mode == SecureMailMode.INSECURE
        and plugin.password
        and host not in ("localhost", "127.0.0.1", "::1")
    ):
        return "mailto:// would send the SMTP password unencrypted; use mailtos://"
    return None


def _check_telegram(plugin: NotifyBase) -> str | None:
    assert isinstance(plugin, NotifyTelegram)
    if not plugin.targets:
        return (
            "no chat id: use tgram://BOT_TOKEN/CHAT_ID (without one Apprise asks getUpdates "
            "for the bot's owner on every send)"
        )
    return None


# Checks Apprise does not make, by plugin class; extend here for new channel kinds.
CHANNEL_CHECKS: dict[type[NotifyBase], Callable[[NotifyBase], str | None]] = {
    NotifyEmail: _check_email,
    NotifyTelegram: _check_telegram,
}


# Which failure classifier of monitor.delivery.failures reads a plugin's log, by plugin class.
FAILURE_KINDS: dict[type[NotifyBase], str] = {
    NotifyEmail: "email",
    NotifyTelegram: "telegram",
}


@cache
def _known_schemes() -> frozenset[str]:
    schemes: set[str] = set()
    for service in apprise.Apprise().details().get("schemas", []):
        for key in ("protocols", "secure_protocols"):
            schemes.update(p.lower() for p in (service.get(key) or ()))
    return frozenset(schemes)


def _instantiate(url: str) -> tuple[NotifyBase | None, str | None]:
    """The configured plugin for ``url``, or why there is none (message already scrubbed)."""
    _configure_logging()
    if not isinstance(url, str) or "://" not in url:
        return None, "not an Apprise URL (expected scheme://…)"
    _SECRETS.add(_url_secrets(url))
    scheme = url.split("://", 1)[0].lower()
    with _captured() as capture:
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
    _SECRETS.add(_plugin_secrets(plugin))
    for kind, check in CHANNEL_CHECKS.items():
        if isinstance(plugin, kind):
            problem = check(plugin)
            if problem:
                return None, problem
    return plugin, None


def validate_channel_url(url: str) -> str | None:
    """Why ``url`` cannot be used as a channel (unknown scheme, rejected by Apprise,
    TLS mode that cannot work, …), or None when it looks usable. Sends nothing."""
    try:
        plugin, problem = _instantiate(url)
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
        _configure_logging()
        _SECRETS.add(_url_secrets(url))
        with _captured():
            plugin = apprise.Apprise.instantiate(url, asset=_asset())
        if plugin is not None:
            _SECRETS.add(_plugin_secrets(plugin))
            return scrub(_plugin_url(plugin, privacy=True))
    except Exception:  # fall through to the blunt form
        log.debug("could not parse a channel URL for redaction", exc_info=False)
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://{_MASK}"


# --- sending ----------------------------------------------------------------------------------


def _prepare(plugin: NotifyBase) -> None:
    """One attempt, no sleeping, no splitting: the dispatcher paces, retries and chunks."""
    plugin.retry = 0
    plugin.wait = 0.0
    plugin.request_rate_per_sec = 0
    plugin.overflow_mode = OverflowMode.UPSTREAM
    if isinstance(plugin, NotifyTelegram):
        plugin.notify_url = telegram_api_prefix()


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


def _classify(plugin: NotifyBase, messages: list[str]) -> Verdict:
    kind = next((name for cls, name in FAILURE_KINDS.items() if isinstance(plugin, cls)), "")
    return classify(kind, messages)


def send(url: str, *, title: str, body: str, body_format: str) -> SendResult:
    """Send one message (one chunk) to one Apprise URL; a failure is a result, not an exception.

    ``body_format`` is ``text``, ``html`` or ``markdown``. For Telegram pass ``title=""``: the
    renderer puts the title in the first chunk, and Apprise would otherwise prepend it.
    """
    if body_format not in BODY_FORMATS:
        return SendResult(False, f"unknown body_format {body_format!r}")
    try:
        plugin, problem = _instantiate(url)
        if plugin is None:  # the URL cannot work until the configuration changes
            return SendResult(False, f"channel URL: {problem}", permanent=True)
        try:
            _prepare(plugin)
        except ValueError as exc:  # TOCSIN_TELEGRAM_API_URL is not a URL
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
        verdict = _classify(plugin, [m for _, m in entries]) if retry_after is None else None
        if verdict is not None and verdict.permanent and verdict.reason:
            return SendResult(False, scrub(_clip(verdict.reason)), permanent=True)
        return SendResult(False, scrub(_describe(status, entries)), retry_after)
    except Exception as exc:  # sending returns a result, never raises
        return SendResult(False, scrub(f"{type(exc).__name__}: {exc}"))
