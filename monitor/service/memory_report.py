"""Where a long-running service's memory goes: ``kill -USR1 PID`` logs what grew since the last look.

Only with ``TOCSIN_TRACEMALLOC=FRAMES tocsin run`` (tracing slows the service, so it is for diagnosis, not
for production): the service starts tracing once it is up, so its start-up (imports, rule compilation)
is neither slowed nor counted, and takes a snapshot (``PYTHONTRACEMALLOC`` works too, tracing from the
first line). Each SIGUSR1
logs the allocation sites whose memory grew most since the previous snapshot (so a second signal, sent
after warm-up, shows steady-state growth only), grouped by the most recent frame in Tocsin's own code (a
growth inside SQLAlchemy or Scrapy is charged to the Tocsin line that caused it), with the total traced
memory. ``bench/soak.py --tracemalloc`` signals a third of the way through a soak and at its end.
"""

from __future__ import annotations

import logging
import os
import signal
import tracemalloc
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)
PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
TOP = 15
TRACE_ENV = "TOCSIN_TRACEMALLOC"
REPORT_HEADER = "memory growth since the last look"  # bench/soak.py finds the reports in the log by it


class MemoryReport:
    """The last snapshot and the growth report against it."""

    def __init__(self) -> None:
        self.filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        self.last = tracemalloc.take_snapshot().filter_traces(self.filters)

    def growth(self, top: int = TOP) -> list[str]:
        """The ``top`` sites that grew most since the last snapshot, one line each, largest first."""
        now = tracemalloc.take_snapshot().filter_traces(self.filters)
        stats, self.last = now.compare_to(self.last, "traceback"), now
        grown: dict[str, list[int]] = {}
        for stat in stats:
            if stat.size_diff <= 0:
                continue
            site = _own_frame(stat.traceback)
            sizes = grown.setdefault(site, [0, 0])
            sizes[0] += stat.size_diff
            sizes[1] += stat.count_diff
        ordered = sorted(grown.items(), key=lambda entry: entry[1][0], reverse=True)[:top]
        return [f"{size / 1024:+9.1f} KiB {count:+7d} blocks  {site}" for site, (size, count) in ordered]


def _own_frame(traceback: tracemalloc.Traceback) -> str:
    """The most recent frame in Tocsin's code (else the most recent frame) as ``path:line``."""
    frames = list(traceback)  # oldest first
    for frame in reversed(frames):
        if frame.filename.startswith(PROJECT_ROOT):
            return f"{frame.filename[len(PROJECT_ROOT) + 1:]}:{frame.lineno}"
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


def install() -> MemoryReport | None:
    """Trace (``TOCSIN_TRACEMALLOC``), take the baseline and log the growth on SIGUSR1; else do nothing."""
    frames = os.environ.get(TRACE_ENV, "").strip()
    if frames and not tracemalloc.is_tracing():
        if not frames.isdigit() or not 1 <= int(frames) <= 100:
            log.error("%s=%r: expected a number of frames from 1 to 100; not tracing", TRACE_ENV, frames)
            return None
        tracemalloc.start(int(frames))
    if not tracemalloc.is_tracing() or not hasattr(signal, "SIGUSR1"):
        return None
    report = MemoryReport()

    def _on_usr1(_signum: int, _frame: FrameType | None) -> None:
        current, peak = tracemalloc.get_traced_memory()
        lines = report.growth()
        log.warning("%s (traced now %.1f MiB, peak %.1f MiB):\n%s",
                    REPORT_HEADER, current / 2**20, peak / 2**20, "\n".join(lines))

    signal.signal(signal.SIGUSR1, _on_usr1)
    log.warning("tracemalloc is on: send SIGUSR1 to log what grew since now")
    return report
