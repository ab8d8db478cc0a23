"""One round of work for a set of sources: crawl each (child process), match what arrived, raise removal
alerts, dispatch. Also the edit/deletion re-check of matched items (``recheck_matched``), and killing the
crawl children that ignored a stop (``kill_crawl_children``)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from config.sources import SourceBase
from crawler.runner import CrawlOutcome, RecheckOutcome, recheck_due, run_crawl
from monitor.alerts.matching import ProcessReport, process_pending
from monitor.alerts.removals import RemovalAlert, raise_removal_alerts
from monitor.delivery.dispatch import DispatchReport, dispatch_due
from monitor.service.app import App
from monitor.service.scheduling import check_source_health
from monitor.trends.alerting import RaisedAlert
from monitor.trends.analysis import analyze
from storage.models import utcnow

log = logging.getLogger(__name__)


@dataclass
class RoundReport:
    crawls: list[CrawlOutcome] = field(default_factory=list)
    processing: ProcessReport = field(default_factory=ProcessReport)
    dispatch: DispatchReport = field(default_factory=DispatchReport)
    early_warnings: list[RaisedAlert] = field(default_factory=list)
    recheck: RecheckOutcome | None = None
    removals: list[RemovalAlert] = field(default_factory=list)


def crawl_source(app: App, source: SourceBase, *, on_item: Callable[[int], None] | None = None,
                 stop_event: threading.Event | None = None) -> CrawlOutcome:
    timeout = source.schedule.timeout or app.config.settings.schedule.crawl_timeout
    return run_crawl(
        database=app.database,
        config=app.config,
        source=source,
        timeout=timeout,
        on_item=on_item,
        log_file=app.log_dir / "crawl.log",
        stop_event=stop_event,
    )


def recheck_matched(app: App, *, on_item: Callable[[int], None] | None = None,
                    on_removed: Callable[[int, str], None] | None = None,
                    stop_event: threading.Event | None = None,
                    scrapy_settings: dict[str, Any] | None = None) -> RecheckOutcome:
    """Re-fetch the matched items due for an edit/deletion check (one child process, crawler.recheck).

    Edited items wait in the database to be matched again; removals are alerted by
    :func:`monitor.alerts.removals.raise_removal_alerts`, which the caller runs afterwards.
    """
    return recheck_due(
        database=app.database,
        config=app.config,
        on_item=on_item,
        on_removed=on_removed,
        log_file=app.log_dir / "crawl.log",
        stop_event=stop_event,
        scrapy_settings=scrapy_settings,
    )


def run_round(app: App, sources: Sequence[SourceBase], *,
              on_crawled: Callable[[CrawlOutcome], None] | None = None, recheck: bool = False) -> RoundReport:
    """Crawl the sources one after another (a failing source never stops the others), then match and send.

    After each crawl the source's health is checked: one that has been failing, empty or degraded for
    ``crawl.unhealthy_after`` runs in a row raises an operator alert (as the service does).

    With ``recheck``, matched items due for an edit/deletion check are fetched again too. Removal alerts
    are swept for either way: a removal recorded by any earlier re-check (the service's, say, killed
    before it raised the alert) is alerted in this round.
    """
    report = RoundReport()
    for source in sources:
        outcome = crawl_source(app, source)
        report.crawls.append(outcome)
        if outcome.status != "killed":  # a source failing, empty or degraded for N runs: tell the operator
            check_source_health(app.database, app.config, source.id)
        if on_crawled is not None:
            on_crawled(outcome)
    if recheck:
        report.recheck = recheck_matched(app)
    report.processing = process_pending(app.database, app.rules, app.config)
    report.removals = raise_removal_alerts(app.database, app.config)
    report.early_warnings = run_analysis(app)
    report.dispatch = dispatch_due(app.database, app.config)
    return report


def run_analysis(app: App, *, now: datetime | None = None) -> list[RaisedAlert]:
    """Surges, escalation ladders and case files over what is stored; before dispatch, so its alerts go out
    in the same round."""
    with app.database.write() as session:
        return analyze(session, app.config, now=now or utcnow())


def kill_crawl_children() -> list[int]:
    """SIGKILL this process's crawl children (each leads its own process group) that ignored the stop."""
    killed: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return killed
    me = str(os.getpid())
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = stat[stat.rindex(")") + 2 :].split()[1]
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me and b"crawler.child" in cmdline:
            try:
                os.killpg(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                pass
    return killed
