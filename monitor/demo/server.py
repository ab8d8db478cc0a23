"""A small loopback web server for a directory of pages, plus an inbox for Apprise ``json://`` posts.

Used by ``tocsin demo`` (the bundled demo site) and by tests. ``{base}`` in served text files becomes the
server's own base URL, so the site's feeds and canonical links point back at it. Telegram-style paging
``/t/s/<channel>?before=NN`` is served from ``t/s/<channel>_before_NN.html``.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TEXT_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/rss+xml; charset=utf-8",
              ".txt": "text/plain; charset=utf-8", ".yaml": "text/plain; charset=utf-8"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    site: SiteServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        pass

    def _resolve(self, raw_path: str) -> Path | None:
        parts = urlsplit(raw_path)
        path = unquote(parts.path).lstrip("/")
        query = parse_qs(parts.query)
        root = self.server.site.root
        candidates = []
        if "before" in query and query["before"][0].isdigit():
            candidates.append(f"{path}_before_{query['before'][0]}.html")
        if not path or path.endswith("/"):
            candidates.append(f"{path}index.html")
        candidates += [path, f"{path}.html", f"{path}/index.html"]
        for candidate in candidates:
            target = (root / candidate).resolve()
            if target.is_file() and target.is_relative_to(root):
                return target
        return None

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        target = self._resolve(self.path)
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        body = target.read_bytes()
        content_type = TEXT_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "text/plain"
        if target.suffix in TEXT_TYPES:
            body = body.replace(b"{base}", self.server.site.base_url.encode())
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            payload = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            payload = {"raw": raw.decode("utf-8", "replace")}
        with self.server.site.lock:
            self.server.site.inbox.append({"path": self.path, "payload": payload})
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", "0")
        self.end_headers()


class SiteServer:
    """Serve ``root`` on 127.0.0.1 in a background thread; POSTs are collected in ``inbox``."""

    def __init__(self, root: Path, *, port: int = 0) -> None:
        self.root = root.resolve()
        self.inbox: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        try:
            self._server = _Server(("127.0.0.1", port), _Handler)
        except OSError:
            if port == 0:
                raise
            self._server = _Server(("127.0.0.1", 0), _Handler)  # preferred port busy: take any
        self._server.site = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="site-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
