"""``kill -USR1`` on a traced service names the lines of Tocsin's code whose memory grew."""

from __future__ import annotations

import logging
import os
import signal
import tracemalloc
from collections.abc import Iterator

import pytest

from monitor.alerts import fingerprint as fp
from monitor.service import memory_report


@pytest.fixture
def tracing() -> Iterator[None]:
    tracemalloc.start(10)
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)
        tracemalloc.stop()


def test_growth_is_charged_to_the_tocsin_line_that_caused_it(tracing: None) -> None:
    report = memory_report.MemoryReport()
    fp.fingerprint.cache_clear()
    for n in range(40):  # the fingerprint cache keeps these texts' shingle sets
        fp.fingerprint(" ".join(f"word{n}x{k}" for k in range(400)))
    lines = report.growth()
    assert lines and "monitor/alerts/fingerprint.py:" in lines[0] and "KiB" in lines[0]
    # the next look starts from here: nothing new grew, so the cache is not reported again
    assert not any("monitor/alerts/fingerprint.py:" in line for line in report.growth())
    fp.fingerprint.cache_clear()


def test_sigusr1_logs_the_report(tracing: None, caplog: pytest.LogCaptureFixture) -> None:
    assert memory_report.install() is not None
    kept = [bytearray(4096) for _ in range(500)]  # 2 MiB held by this test's own line
    with caplog.at_level(logging.WARNING, logger="monitor.service.memory_report"):
        os.kill(os.getpid(), signal.SIGUSR1)
    [record] = [r for r in caplog.records if "memory growth since the last look" in r.getMessage()]
    assert "tests/service/test_memory_report.py:" in record.getMessage()
    assert len(kept) == 500


def test_without_tracing_nothing_is_installed() -> None:
    assert not tracemalloc.is_tracing()
    assert memory_report.install() is None


def test_tocsin_tracemalloc_starts_tracing_once_the_service_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = signal.getsignal(signal.SIGUSR1)
    monkeypatch.setenv(memory_report.TRACE_ENV, "5")
    try:
        assert memory_report.install() is not None and tracemalloc.is_tracing()
        assert tracemalloc.get_traceback_limit() == 5
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGUSR1, previous)


def test_a_bad_frame_count_is_reported_and_nothing_traced(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(memory_report.TRACE_ENV, "lots")
    assert memory_report.install() is None and not tracemalloc.is_tracing()
    assert "TOCSIN_TRACEMALLOC='lots'" in caplog.text
