"""A fake Telegram Bot API on 127.0.0.1 that validates messages the way Telegram does.

Why: Tocsin must prove its Telegram payloads are accepted (HTML entities, length in UTF-16 units)
and that it copes with 429/500/timeouts, without reaching the internet.

Usage (pytest)::

    from tests.support.fake_telegram import fake_telegram  # noqa: F401  (or via pytest_plugins)

    def test_x(fake_telegram, monkeypatch):
        monkeypatch.setenv("TOCSIN_TELEGRAM_API_URL", fake_telegram.url)
        notify.send(fake_telegram.apprise_url, title="", body="<b>hi</b>", body_format="html")
        assert fake_telegram.texts() == ["hi"]        # or .messages[0].text / .plain / .links

For a whole service or CLI run in a subprocess, export the same variable with ``.url``.

What it serves (``POST`` or ``GET``, JSON or form body, like the real API):

- ``/bot<token>/sendMessage``: validates and records; a malformed token gets 401, a bad message 400
  ("Bad Request: message is too long" above 4096 UTF-16 units of parsed text; "Bad Request: can't
  parse entities: ..." for unsupported or unbalanced tags or unknown entities when parse_mode=HTML).
- ``/bot<token>/getMe`` and ``/bot<token>/getUpdates`` (empty), which Apprise may call.

Scripting (each rule applies to the next N API requests, in the order the rules were added):

- ``fail_next(n, status=500)``: answer with an error status and Telegram's JSON error shape.
- ``rate_limit_next(n, retry_after=3)``: 429 with ``parameters.retry_after``.
- ``stall_next(n)``: hold the answer until ``release()`` (or teardown) so the client times out.

Recorded: ``requests`` (every API call, with the status answered) and ``messages`` (accepted
sendMessage calls, i.e. what a user would see). The server imitates Telegram's documented rules;
the exact wording of Telegram's errors beyond those quoted above is approximate.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

TELEGRAM_MAX_MESSAGE_UTF16 = 4096

# Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
SUPPORTED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "blockquote", "tg-spoiler", "span", "tg-emoji",
    }
)
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^>]*)?)\s*/?>")
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_TOKEN_RE = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")


class TelegramHtmlError(ValueError):
    """The text would make Telegram answer "can't parse entities"."""


@dataclass(frozen=True)
class ParsedHtml:
    """What Telegram shows for an HTML message: the plain text, and the link targets."""

    plain: str
    links: tuple[str, ...]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(text: str, offset: int) -> str:
    out: list[str] = []
    pos = 0
    while True:
        amp = text.find("&", pos)
        if amp < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:amp])
        match = _ENTITY_RE.match(text, amp)
        if match is None:
            raise TelegramHtmlError(
                f"Can't find end of the entity starting at byte offset {offset + amp}"
            )
        name = match.group(1)
        if name.startswith("#x"):
            out.append(chr(int(name[2:], 16)))
        elif name.startswith("#"):
            out.append(chr(int(name[1:])))
        elif name in _NAMED_ENTITIES:
            out.append(_NAMED_ENTITIES[name])
        else:
            raise TelegramHtmlError(f'Unsupported HTML entity "&{name};" at byte offset {amp}')
        pos = match.end()


def parse_telegram_html(text: str) -> ParsedHtml:
    """Parse like Telegram's HTML mode; raise TelegramHtmlError where Telegram answers 400."""
    plain: list[str] = []
    links: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        lt = text.find("<", pos)
        chunk_end = len(text) if lt < 0 else lt
        plain.append(_decode_entities(text[pos:chunk_end], pos))
        if lt < 0:
            break
        match = _TAG_RE.match(text, lt)
        if match is None:
            raise TelegramHtmlError(f"Unsupported start tag at byte offset {lt}")
        closing, name, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if name not in SUPPORTED_TAGS:
            kind = "end" if closing else "start"
            raise TelegramHtmlError(f'Unsupported {kind} tag "{name}" at byte offset {lt}')
        if closing:
            if not stack:
                raise TelegramHtmlError(f'Unexpected end tag "{name}" at byte offset {lt}')
            if stack[-1] != name:
                raise TelegramHtmlError(
                    f'Unmatched end tag at byte offset {lt}, expected "</{stack[-1]}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
        else:
            if name == "a":
                values = {m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
                          for m in _ATTR_RE.finditer(attrs)}
                links.append(_decode_entities(values.get("href", ""), lt))
            stack.append(name)
        pos = match.end()
    if stack:
        raise TelegramHtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return ParsedHtml(plain="".join(plain), links=tuple(links))


@dataclass(frozen=True)
class ApiRequest:
    """One call to the fake API, as received, with the status it was answered with."""

    method: str
    token: str
    params: dict[str, Any]
    status: int
    received_at: float  # time.monotonic()


@dataclass(frozen=True)
class SentMessage:
    """An accepted sendMessage: what the chat would show."""

    chat_id: str
    text: str  # as sent (markup included)
    plain: str  # after entity parsing, leading/trailing whitespace trimmed like Telegram
    links: tuple[str, ...]
    parse_mode: str | None
    token: str
    received_at: float  # time.monotonic()
    params: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class _Rule:
    remaining: int
    kind: str  # "fail" | "rate_limit" | "stall"
    status: int = 500
    description: str = ""
    retry_after: int = 0


class FakeTelegram:
    """The server plus its script and records; see the module docstring."""

    token = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
    chat_id = "424242"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._release = threading.Event()
        self.requests: list[ApiRequest] = []
        self.messages: list[SentMessage] = []
        self._next_id = 1
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``: the value for ``TOCSIN_TELEGRAM_API_URL``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def apprise_url(self) -> str:
        """An Apprise URL for this fake's token and chat."""
        return f"tgram://{self.token}/{self.chat_id}"

    # --- scripting -------------------------------------------------------------------------
    def fail_next(
        self, n: int = 1, *, status: int = 500, description: str = "Internal Server Error"
    ) -> None:
        with self._lock:
            self._rules.append(_Rule(n, "fail", status=status, description=description))

    def rate_limit_next(self, n: int = 1, *, retry_after: int = 3) -> None:
        with self._lock:
            self._rules.append(_Rule(n, "rate_limit", status=429, retry_after=retry_after))

    def stall_next(self, n: int = 1) -> None:
        """Hold the next n answers until release(); the client sees a read timeout."""
        with self._lock:
            self._release.clear()
            self._rules.append(_Rule(n, "stall"))

    def release(self) -> None:
        self._release.set()

    def texts(self) -> list[str]:
        """Plain texts of the accepted messages, in arrival order."""
        with self._lock:
            return [m.plain for m in self.messages]

    # --- request handling (called from server threads) --------------------------------------
    def _take_rule(self) -> _Rule | None:
        with self._lock:
            while self._rules and self._rules[0].remaining <= 0:
                self._rules.pop(0)
            if not self._rules:
                return None
            rule = self._rules[0]
            rule.remaining -= 1
            return rule

    def handle(self, method: str, token: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, answer = self._answer(method, token, params)
        with self._lock:
            self.requests.append(ApiRequest(method, token, params, status, time.monotonic()))
        return status, answer

    def _answer(
        self, method: str, token: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if not _TOKEN_RE.match(token):
            return _error(401, "Unauthorized")
        rule = self._take_rule()
        if rule is not None:
            if rule.kind == "stall":
                self._release.wait(timeout=60)
            elif rule.kind == "rate_limit":
                status, body = _error(429, f"Too Many Requests: retry after {rule.retry_after}")
                body["parameters"] = {"retry_after": rule.retry_after}
                return status, body
            else:
                return _error(rule.status, rule.description)
        if method == "getMe":
            bot = {"id": int(token.split(":")[0]), "is_bot": True, "username": "fake_bot"}
            return 200, {"ok": True, "result": bot}
        if method == "getUpdates":
            return 200, {"ok": True, "result": []}
        if method == "sendMessage":
            return self._send_message(token, params)
        return _error(404, "Not Found")

    def _send_message(self, token: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = str(params.get("chat_id") or "")
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode") or None
        if not chat_id:
            return _error(400, "Bad Request: chat_id is empty")
        try:
            parsed = (
                parse_telegram_html(text)
                if str(parse_mode).upper() == "HTML"
                else ParsedHtml(plain=text, links=())
            )
        except TelegramHtmlError as exc:
            return _error(400, f"Bad Request: can't parse entities: {exc}")
        plain = parsed.plain.strip()
        if not plain:
            return _error(400, "Bad Request: message text is empty")
        if utf16_len(plain) > TELEGRAM_MAX_MESSAGE_UTF16:
            return _error(400, "Bad Request: message is too long")
        with self._lock:
            message_id = self._next_id
            self._next_id += 1
            self.messages.append(
                SentMessage(chat_id, text, plain, parsed.links, parse_mode, token,
                            time.monotonic(), params)
            )
        return 200, {"ok": True, "result": {"message_id": message_id, "date": int(time.time()),
                                            "chat": {"id": chat_id}, "text": plain}}


def _error(status: int, description: str) -> tuple[int, dict[str, Any]]:
    return status, {"ok": False, "error_code": status, "description": description}


def _make_handler(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            """Keep test output quiet."""

        def do_GET(self) -> None:
            self._dispatch(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._dispatch(self.rfile.read(length))

        def _dispatch(self, raw: bytes) -> None:
            parts = urlsplit(self.path)
            match = re.match(r"^/bot([^/]*)/([A-Za-z]+)$", parts.path)
            if match is None:
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            params: dict[str, Any] = dict(parse_qsl(parts.query))
            params.update(_parse_body(raw, self.headers.get("Content-Type") or ""))
            status, answer = fake.handle(match.group(2), match.group(1), params)
            self._reply(status, answer)

        def _reply(self, status: int, answer: dict[str, Any]) -> None:
            body = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test); nothing to answer

    return Handler


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    text = raw.decode("utf-8")
    if "json" in content_type or text.lstrip().startswith("{"):
        loaded = json.loads(text)
        return loaded if isinstance(loaded, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A running FakeTelegram on 127.0.0.1 (free port), stopped after the test."""
    server = FakeTelegram().start()
    try:
        yield server
    finally:
        server.stop()
