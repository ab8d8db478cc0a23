"""What a supervisor can ask the running service: ``/healthz`` (JSON, 200 or 503), ``/metrics``.

Served on loopback by a small threaded HTTP server, so ``curl -f http://127.0.0.1:8787/healthz`` works as a
Docker HEALTHCHECK and systemd gets ``READY=1``/``WATCHDOG=1`` through ``sd_notify`` when it asks for them.
The metrics live in their own registry (not the process-global one), one per service. The service also
publishes its heartbeat and next runs in the ``service_state`` table, which ``tocsin status`` reads.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from storage.db import Database
from storage.models import utcnow
from storage.service_repo import service_states, write_service_state

log = logging.getLogger(__name__)
CRAWL_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)


class ServiceMetrics:
    """Every Prometheus series the service exports (names end in ``_total`` for counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.items_fetched = Counter(
            "tocsin_items_fetched",
            "new or edited items stored by crawls",
            ["source", "outcome"],
            registry=r,
        )
        self.items_removed = Counter(
            "tocsin_items_removed", "matched items found deleted at their source", registry=r
        )
        self.items_matched = Counter(
            "tocsin_items_matched", "items run through the rules", registry=r
        )
        self.matches = Counter("tocsin_matches", "rule matches", registry=r)
        self.alerts = Counter(
            "tocsin_alerts", "alerts created or updated by matches", ["change"], registry=r
        )
        self.deliveries = Counter(
            "tocsin_deliveries",
            "delivery attempts by result (sent, retrying, dead)",
            ["result"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "tocsin_outbox_pending", "deliveries waiting to be sent", registry=r
        )
        self.crawls = Counter("tocsin_crawls", "finished crawls by status", ["status"], registry=r)
        self.source_errors = Counter(
            "tocsin_source_errors",
            "failed, timed-out or killed crawls",
            ["source", "status"],
            registry=r,
        )
        self.crawl_duration = Histogram(
            "tocsin_crawl_duration_seconds",
            "wall time of one crawl",
            ["source"],
            buckets=CRAWL_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "tocsin_source_last_success_timestamp_seconds",
            "when a source last crawled successfully",
            ["source"],
            registry=r,
        )
        self.scheduler_events = Counter(
            "tocsin_scheduler_events", "missed runs, job errors, overruns", ["event"], registry=r
        )
        self.config_reloads = Counter(
            "tocsin_config_reloads", "config reloads by result", ["result"], registry=r
        )
        self.started = Gauge(
            "tocsin_service_start_time_seconds", "when the service started", registry=r
        )
        self.started.set(time.time())

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


@dataclass
class HealthState:
    """Checks return a problem (str) or None; ``info`` adds facts to the JSON."""

    checks: dict[str, Callable[[], str | None]] = field(default_factory=dict)
    info: Callable[[], dict[str, Any]] = dict

    def report(self) -> tuple[bool, dict[str, Any]]:
        problems = {}
        for name, check in self.checks.items():
            try:
                problem = check()
            except Exception as exc:  # noqa: BLE001 - a broken check is a failing check
                problem = f"check raised {exc.__class__.__name__}: {exc}"
            if problem:
                problems[name] = problem
        body = {"status": "ok" if not problems else "failing", "problems": problems, **self.info()}
        return not problems, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    health: HealthState
    metrics: ServiceMetrics


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - probes every few seconds
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        path = self.path.split("?", 1)[0]
        if path in {"/healthz", "/health", "/"}:
            healthy, report = self.server.health.report()
            status = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
            body = json.dumps(report, ensure_ascii=False, default=str).encode()
            self._send(status, body, "application/json")
        elif path == "/metrics":
            self._send(HTTPStatus.OK, self.server.metrics.render(), CONTENT_TYPE_LATEST)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found: try /healthz or /metrics\n", "text/plain")


class HealthServer:
    """The loopback HTTP endpoint, in a daemon thread. Port 0 picks a free port (see ``address``)."""

    def __init__(self, host: str, port: int, health: HealthState, metrics: ServiceMetrics) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.health, self._server.metrics = health, metrics
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health-http", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def sd_notify(message: str) -> bool:
    """Tell systemd (``Type=notify``) something, e.g. ``READY=1``; a no-op outside systemd."""
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return False
    address = "\0" + target[1:] if target.startswith("@") else target
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        log.warning("could not notify systemd at %s", target)
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of systemd's ``WatchdogSec`` in seconds, when the unit asks for watchdog pings."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


def publish_state(database: Database, values: dict[str, dict[str, Any]]) -> None:
    """Overwrite the named ``service_state`` rows (one short write transaction)."""
    with database.write() as session:
        write_service_state(session, values, now=utcnow())


@dataclass(frozen=True)
class PublishedState:
    value: dict[str, Any]
    updated_at: datetime


def read_state(database: Database) -> dict[str, PublishedState]:
    with database.read() as session:
        return {
            row.name: PublishedState(dict(row.value), row.updated_at)
            for row in service_states(session)
        }
