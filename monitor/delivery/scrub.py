"""Keep the secrets of channel URLs out of everything Tocsin emits: errors, logs, CLI output.

Every URL ``notify`` handles hands its secrets (Apprise's private tokens, the password of the URL, anything
shaped like a Telegram bot token) to one process-wide registry; :func:`scrub` masks them. Apprise logs at
DEBUG into its result capture: a filter scrubs each record before any handler sees it, and the records are
re-logged under the ``monitor.delivery.notify.apprise`` logger, never straight to root.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import quote

from apprise.plugins.base import NotifyBase

_apprise_log = logging.getLogger("monitor.delivery.notify.apprise")

# --- secrets ----------------------------------------------------------------------------------

# A Telegram bot token anywhere in a string (bot id, colon, 30+ characters of secret).
_BOT_TOKEN_RE = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")
_URL_PIECES_RE = re.compile(r"[/:@?&=#,]+")
MASK = "****"
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
        text = _BOT_TOKEN_RE.sub(MASK, text)
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


SECRETS = _SecretRegistry()


def scrub(text: str) -> str:
    """``text`` with every known secret and anything shaped like a bot token masked."""
    return SECRETS.scrub(text)


def _with_encodings(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value, safe="@:")}


def plugin_url(plugin: NotifyBase, *, privacy: bool) -> str:
    return str(plugin.url(privacy=privacy))  # type: ignore[no-untyped-call]


def plugin_secrets(plugin: NotifyBase) -> set[str]:
    """Values Apprise marks private, plus URL pieces that its privacy form hides."""
    found: set[str] = set()
    specs = {**plugin.template_tokens, **plugin.template_args}
    for key, spec in specs.items():
        if not (isinstance(spec, dict) and spec.get("private")):
            continue
        value = getattr(plugin, str(spec.get("map_to", key)), None)
        if isinstance(value, str) and len(value) >= 3:
            found |= _with_encodings(value)
    public = set(_URL_PIECES_RE.split(plugin_url(plugin, privacy=True)))
    for piece in _URL_PIECES_RE.split(plugin_url(plugin, privacy=False)):
        if len(piece) >= 4 and piece not in public:
            found.add(piece)
    return found


def url_secrets(url: str) -> set[str]:
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


def configure_logging() -> None:
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
def captured() -> Iterator[_ThreadCapture]:
    handler = _ThreadCapture()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
