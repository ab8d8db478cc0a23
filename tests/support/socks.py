"""A minimal SOCKS5 proxy on 127.0.0.1 (no authentication, CONNECT only) that logs where it connected.

Enough to prove a crawl really went through a configured ``socks5://`` proxy (a Tor client speaks
the same protocol).
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import struct
import threading
from types import TracebackType


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        client: socket.socket = self.request
        greeting = client.recv(2)
        if len(greeting) < 2 or greeting[0] != 5:
            return
        client.recv(greeting[1])  # the offered methods; we accept "no authentication"
        client.sendall(b"\x05\x00")
        _version, _command, _, kind = client.recv(4)
        if kind == 1:
            host = socket.inet_ntoa(client.recv(4))
        elif kind == 3:
            host = client.recv(client.recv(1)[0]).decode("idna")
        else:
            return
        port = struct.unpack("!H", client.recv(2))[0]
        self.server.connections.append((host, port))
        upstream = socket.create_connection((host, port), timeout=10)
        client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", port))
        with contextlib.closing(upstream):
            sockets = [client, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections: list[tuple[str, int]] = []


class Socks5Proxy:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self._server.server_address[1]}"

    @property
    def connections(self) -> list[tuple[str, int]]:
        return list(self._server.connections)

    def __enter__(self) -> Socks5Proxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self._server.shutdown()
        self._server.server_close()
