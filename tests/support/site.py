"""A local web server for crawl tests: static fixture files plus programmable routes, on 127.0.0.1.

A ThreadingHTTPServer with a large listen backlog (``http.server``'s default of 5 stalls under a
crawler's concurrency, docs PERFORMANCE), HTTP/1.1 keep-alive, conditional GET (ETag and
Last-Modified) for every body, and a log of the requests it saw so tests can assert what the crawler
sent (validators, retry timing, user agent).

    with SiteServer(root=Path("tests/data/sites/basic")) as site:
        site.route("/feed.xml", body, content_type="application/rss+xml")
        site.route("/gone.html", b"", status=404)
        url = site.url("/feed.xml")
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import mimetypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

FIXED_LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@dataclass
class Reply:
    """What one route answers; ``stream`` (a chunk iterator factory) replaces ``body`` for huge bodies."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    validators: bool = True
    delay: float = 0.0
    stream: Callable[[], Any] | None = None
    stream_length: int | None = None


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic()


Handler = Callable[["SeenRequest"], Reply]


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
    block_on_close = False  # a handler sleeping in a "slow" route must not hold up teardown
    allow_reuse_address = True


class SiteServer:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.routes: dict[str, Reply | Handler] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    # --- programming ----------------------------------------------------------------------------

    def route(self, path: str, body: bytes | str = b"", **reply: Any) -> None:
        """Serve ``body`` at ``path`` (which may include a query string); replaces an earlier route."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Reply(body=data, **reply)

    def handle(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def seen(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # --- serving --------------------------------------------------------------------------------

    def _reply_for(self, request: SeenRequest) -> Reply:
        route = self.routes.get(request.path) or self.routes.get(urlsplit(request.path).path)
        if route is not None:
            return route(request) if callable(route) else route
        if self.root is not None:
            relative = urlsplit(request.path).path.lstrip("/") or "index.html"
            file = (self.root / relative).resolve()
            if file.is_file() and self.root.resolve() in file.parents:
                guessed = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                kind = f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed
                return Reply(body=file.read_bytes(), content_type=kind)
        return Reply(body=b"<html><body>not found</body></html>", status=404)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                request = SeenRequest("GET", self.path, dict(self.headers.items()), time.monotonic())
                with server._lock:
                    server.requests.append(request)
                reply = server._reply_for(request)
                if reply.delay:
                    time.sleep(reply.delay)  # a slow server, not test synchronisation
                try:
                    self._send(reply, request)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def _send(self, reply: Reply, request: SeenRequest) -> None:
                headers = dict(reply.headers)
                if reply.content_type and "Content-Type" not in headers:
                    headers["Content-Type"] = reply.content_type
                status = reply.status
                body = reply.body
                if reply.validators and status == 200 and reply.stream is None:
                    etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                    headers.setdefault("ETag", etag)
                    headers.setdefault("Last-Modified", FIXED_LAST_MODIFIED)
                    if request.headers.get("If-None-Match") == headers["ETag"]:
                        status, body = 304, b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                length = reply.stream_length if reply.stream is not None else len(body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if reply.stream is not None:
                    for chunk in reply.stream():
                        self.wfile.write(chunk)
                elif status not in (204, 304):
                    self.wfile.write(body)

        return _Handler


# --- hostile bodies ---------------------------------------------------------------------------------


def big_body(size: int, chunk: int = 1 << 20) -> Reply:
    """``size`` bytes of HTML-ish filler, streamed (never held in memory)."""
    piece = (b"<p>" + b"x" * (chunk - 7) + b"</p>\n")[:chunk]

    def stream() -> Any:
        sent = 0
        while sent < size:
            part = piece[: min(chunk, size - sent)]
            sent += len(part)
            yield part

    return Reply(stream=stream, stream_length=size, validators=False)


def gzip_bomb(inflated: int = 50 * 1024 * 1024) -> Reply:
    """A small gzip body (Content-Encoding: gzip) that inflates to ``inflated`` bytes."""
    buffer = gzip.compress(b"\0" * inflated, compresslevel=9, mtime=0)
    return Reply(body=buffer, headers={"Content-Encoding": "gzip"}, validators=False)


def garbage(size: int = 64 * 1024, seed: bytes = b"tocsin") -> Reply:
    """Random-looking bytes served as text/html."""
    out = bytearray()
    block = seed
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out.extend(block)
    return Reply(body=bytes(out[:size]), content_type="text/html")


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


