"""What supervisors and log readers get: /healthz that fails when a part is down, Prometheus metrics,
systemd notifications, and log lines that carry their context in text or JSON."""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.schema import LogSettings
from monitor.service.health import HealthServer, HealthState, ServiceMetrics, sd_notify
from monitor.service.logs import configure_logging


def fetch(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


@pytest.fixture
def problems() -> dict[str, str | None]:
    return {"dispatcher": None}


@pytest.fixture
def server(problems: dict[str, str | None]) -> Iterator[tuple[HealthServer, ServiceMetrics]]:
    metrics = ServiceMetrics()
    state = HealthState(
        checks={"dispatcher": lambda: problems["dispatcher"]}, info=lambda: {"pid": 42}
    )
    health = HealthServer("127.0.0.1", 0, state, metrics).start()
    yield health, metrics
    health.stop()


def test_healthz_is_ok_while_every_part_runs_and_503_naming_the_part_that_does_not(
    server: tuple[HealthServer, ServiceMetrics], problems: dict[str, str | None]
) -> None:
    health, _ = server
    status, content_type, body = fetch(f"{health.address}/healthz")
    assert status == 200 and content_type == "application/json"
    assert json.loads(body) == {"status": "ok", "problems": {}, "pid": 42}
    problems["dispatcher"] = "the dispatcher thread died"
    status, _, body = fetch(f"{health.address}/healthz")
    assert status == 503
    assert json.loads(body)["problems"] == {"dispatcher": "the dispatcher thread died"}


def test_metrics_are_served_in_prometheus_format(
    server: tuple[HealthServer, ServiceMetrics],
) -> None:
    health, metrics = server
    metrics.items_fetched.labels("hrana", "new").inc(3)
    metrics.deliveries.labels("dead").inc()
    metrics.crawl_duration.labels("hrana").observe(4.2)
    status, content_type, body = fetch(f"{health.address}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    assert 'tocsin_items_fetched_total{outcome="new",source="hrana"} 3.0' in body
    assert 'tocsin_deliveries_total{result="dead"} 1.0' in body
    assert 'tocsin_crawl_duration_seconds_bucket{le="5.0",source="hrana"} 1.0' in body
    assert fetch(f"{health.address}/nope")[0] == 404


def test_the_endpoint_listens_on_loopback_only(server: tuple[HealthServer, ServiceMetrics]) -> None:
    assert server[0].address.startswith("http://127.0.0.1:")


def test_systemd_is_told_when_the_service_is_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert sd_notify("READY=1")
        assert listener.recv(64) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not sd_notify("READY=1")  # outside systemd: nothing to do


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_json_logs_carry_the_context_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOCSIN_LOG_JSON", raising=False)
    stream = io.StringIO()
    configure_logging(LogSettings(level="INFO", json=True), stream=stream)
    logging.getLogger("monitor.service").warning(
        "crawl of %s failed", "hrana", extra={"source": "hrana", "status": "timeout"}
    )
    line = json.loads(stream.getvalue())
    assert line["message"] == "crawl of hrana failed" and line["level"] == "WARNING"
    assert (
        line["source"] == "hrana" and line["status"] == "timeout" and line["ts"].endswith("+00:00")
    )


@pytest.mark.usefixtures("restore_logging")
def test_text_logs_are_one_line_with_key_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOCSIN_LOG_JSON", "0")
    stream = io.StringIO()
    configure_logging(LogSettings(level="INFO", json=True), stream=stream)  # the environment wins
    logging.getLogger("monitor.service").info(
        "crawl finished", extra={"source": "hrana", "error": "no feed"}
    )
    line = stream.getvalue().strip()
    assert 'INFO monitor.service: crawl finished source=hrana error="no feed"' in line
    assert "\n" not in line
