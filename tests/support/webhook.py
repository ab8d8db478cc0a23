"""A loopback webhook for Apprise's ``json://`` channel: records every accepted POST in arrival order and can
refuse the first N requests (HTTP 503), like a receiver that is down and comes back.

    with Webhook() as hook:
        hook.refuse_next(3)
        url = hook.apprise_url          # json://127.0.0.1:PORT/hook
        ...
        hook.messages                   # [{"title": ..., "message": ...}, ...] accepted, in order
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hook: Webhook


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        accepted = self.server.hook.receive(body)
        status, reply = (200, b"{}") if accepted else (503, b"down")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


class Webhook:
    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hook = self
        self._lock = threading.Lock()
        self._refuse = 0
        self.refused = 0
        self.messages: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self._server.server_address[1]}/hook"

    def refuse_next(self, n: int) -> None:
        with self._lock:
            self._refuse += n

    def accept_all(self) -> None:
        with self._lock:
            self._refuse = 0

    def receive(self, body: bytes) -> bool:
        with self._lock:
            if self._refuse:
                self._refuse -= 1
                self.refused += 1
                return False
            self.messages.append(json.loads(body or b"{}"))
            return True

    def texts(self) -> list[str]:
        with self._lock:
            return [f"{m.get('title', '')}\n{m.get('message', '')}" for m in self.messages]

    def __enter__(self) -> Webhook:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
