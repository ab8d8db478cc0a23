"""Run one crawl in a child process, with a hard timeout, and record it as a crawl run.

The parent never imports Scrapy's reactor. It hands the child the configuration it runs with (a
:class:`crawler.plan.CrawlPlan` on the child's stdin: the child never reads the user's files, which may be
mid-edit or broken) and keeps that pipe open as the child's lifeline (crawler.lifeline: the crawl and its
workers die with this process, even on SIGKILL). It reads the child's ``TOCSIN {json}`` lines as they
come, so each stored item can be matched at once (``on_item``), and kills the child's process group on
timeout. Two kinds of crawl: a source (``run_crawl``) and the edit/deletion re-check (``recheck_due``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from config.loader import TocsinConfig
from config.sources import SourceBase
from crawler.crawl_log import ChildStderr, Rotation
from crawler.pipelines import EVENT_PREFIX
from crawler.plan import CrawlPlan, recheck_plan, source_plan
from storage.crawl_repo import finish_source_run
from storage.db import Database
from storage.repository import start_crawl_run, sync_source

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CrawlOutcome:
    source_id: str
    run_id: int
    status: str  # ok|failed|timeout|killed
    new_item_ids: list[int] = field(default_factory=list)
    updated_item_ids: list[int] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class RecheckOutcome:
    status: str  # ok|failed|timeout|killed
    checked: int = 0
    updated_item_ids: list[int] = field(default_factory=list)
    removed_item_ids: list[int] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class _ChildResult:
    returncode: int
    done: dict[str, Any] | None
    timed_out: bool
    stopped: bool

    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.done.get("stats", {})) if self.done else {}


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def child_command(plan: CrawlPlan, origin: Path) -> list[str]:
    """The child's command line: only labels for ``ps`` (never a secret); the plan goes on stdin."""
    work = plan.work
    label = ["--recheck"] if work.task == "recheck" else ["--source", work.source.id]
    return [sys.executable, "-m", "crawler.child", "--plan", "-", "--die-with-parent",
            "--origin", str(origin), *label]


def _send_plan(process: subprocess.Popen[str], plan: CrawlPlan) -> None:
    """Write the plan as one line and keep the pipe open: its end is the child's signal to die."""
    assert process.stdin is not None
    try:
        process.stdin.write(plan.to_json() + "\n")
        process.stdin.flush()
    except (BrokenPipeError, OSError) as exc:  # the child died before reading: judged by its exit
        log.warning("could not hand the crawl plan to the crawl process: %s", exc)


def _log_label(plan: CrawlPlan) -> str:
    """What each of the child's lines in the crawl log starts with (crawls run concurrently)."""
    work = plan.work
    return "recheck" if work.task == "recheck" else work.source.id


def _run_child(plan: CrawlPlan, origin: Path, *, timeout: timedelta,
               on_event: Callable[[dict[str, Any]], None], log_file: Path | None,
               stop_event: threading.Event | None, log_rotation: Rotation) -> _ChildResult:
    """Run ``python -m crawler.child`` with ``plan`` in its own process group, streaming its events.

    Its stderr (Scrapy's log) goes through a pipe to ``log_file``, rotated by ``log_rotation``
    (crawler.crawl_log: the parent writes the file, so concurrent crawls can share it)."""
    command = child_command(plan, origin)
    child_log = ChildStderr(log_file, log_rotation, label=_log_label(plan)) if log_file else None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}
    env.pop("PYTHONTRACEMALLOC", None)  # tracing the service's memory (monitor.service.memory_report) is not for crawls
    done: dict[str, Any] | None = None
    # close_fds (the default) keeps this pipe's write end out of every other child, so only this
    # process's death (or the close below, after the child is gone) ends the child's lifeline.
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=child_log.fd if child_log else subprocess.DEVNULL, text=True,
                                   encoding="utf-8", start_new_session=True, close_fds=True, env=env)
    finally:
        if child_log is not None:
            child_log.started()
    timed_out = threading.Event()

    def _on_timeout() -> None:
        timed_out.set()
        _kill_group(process)

    timer = threading.Timer(timeout.total_seconds(), _on_timeout)
    timer.daemon = True
    timer.start()
    if stop_event is not None:
        def _watch_stop() -> None:
            while process.poll() is None:
                if stop_event.wait(0.2):
                    process.send_signal(signal.SIGINT)  # Scrapy closes the spider gracefully
                    return
        threading.Thread(target=_watch_stop, daemon=True).start()
    try:
        _send_plan(process, plan)
        assert process.stdout is not None
        for line in process.stdout:
            if not line.startswith(EVENT_PREFIX):
                continue
            try:
                event = json.loads(line[len(EVENT_PREFIX):])
            except json.JSONDecodeError:
                continue
            if event.get("event") == "done":
                done = event
            else:
                on_event(event)
        returncode = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            _kill_group(process)
            process.wait()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        if child_log is not None:
            child_log.close()  # the child's last lines are in the log when this returns
    stopped = stop_event is not None and stop_event.is_set() and done is None
    return _ChildResult(returncode, done, timed_out.is_set(), stopped)


def _first_stat_suffix(stats: dict[str, Any], prefix: str) -> str | None:
    key = next((k for k in stats if k.startswith(prefix)), None)
    return key.rsplit("/", 1)[-1] if key else None


def judge_crawl(
    returncode: int, done: dict[str, Any] | None, stats: dict[str, Any]
) -> tuple[str, str | None]:
    """ok or failed (with why) from the child's final stats."""
    if done is None:
        return "failed", f"crawl process exited with code {returncode} before finishing"
    if not done.get("ok"):
        return "failed", str(done.get("error") or "crawl failed")
    found = int(stats.get("tocsin/items_found", 0))
    if found == 0 and int(stats.get("robotstxt/forbidden", 0)):
        return "failed", "robots.txt forbids fetching this source (set obey_robots: false to override)"
    if int(stats.get("tocsin/not_public", 0)):
        return "failed", "the channel has no public preview (t.me redirected away from /s/)"
    if int(stats.get("response_received_count", 0)) == 0:
        if reason := stats.get("tocsin/index_error"):  # one line naming the host and the cause
            return "failed", str(reason)
        exc = _first_stat_suffix(stats, "downloader/exception_type_count/")
        return "failed", exc or f"no page could be fetched ({stats.get('finish_reason', 'no response')})"
    if found == 0 and not int(stats.get("tocsin/not_modified", 0)):
        if status := _first_stat_suffix(stats, "tocsin/index_http_status/"):
            return "failed", f"the source answered HTTP {status}"
        if int(stats.get("tocsin/index_unreadable", 0)) or int(stats.get("tocsin/feed_unreadable", 0)):
            return "failed", "the source's index (feed or sitemap) could not be parsed"
        if int(stats.get("tocsin/index_errors", 0)):
            return "failed", f"the source's index page could not be fetched: {stats.get('tocsin/index_error')}"
    errors = int(stats.get("log_count/ERROR", 0))
    if errors and not found and not stats.get("tocsin/items_seen"):
        return "failed", f"{errors} errors and no items (see the crawl log)"
    return "ok", None


def run_crawl(
    *,
    database: Database,
    config: TocsinConfig,
    source: SourceBase,
    timeout: timedelta | None = None,
    on_item: Callable[[int], None] | None = None,
    log_file: Path | None = None,
    stop_event: threading.Event | None = None,
    scrapy_settings: dict[str, Any] | None = None,
) -> CrawlOutcome:
    """Crawl one source in a child process and record the run and the source's health.

    The child crawls ``source`` with ``config``'s crawl settings, exactly as given: it never reads the
    configuration directory. ``timeout`` defaults to the source's ``schedule.timeout``, else
    ``schedule.crawl_timeout``. ``scrapy_settings`` overrides Scrapy settings in the child (tests turn
    delays and backoff down).
    """
    timeout = timeout or source.schedule.timeout or config.settings.schedule.crawl_timeout
    plan = source_plan(config, source, database_url=database.url, timeout=timeout, scrapy=scrapy_settings)
    source_id = source.id
    with database.write() as session:
        sync_source(session, source_id=source_id, kind=source.kind, name=source.label, url=source.url,
                    tags=list(source.tags))
        run_id = start_crawl_run(session, source_id).id
    outcome = CrawlOutcome(source_id=source_id, run_id=run_id, status="failed")

    def _on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "item":
            ids = outcome.new_item_ids if event["outcome"] == "new" else outcome.updated_item_ids
            ids.append(int(event["id"]))
            if on_item is not None:
                on_item(int(event["id"]))

    child = _run_child(plan, config.directory, timeout=timeout, on_event=_on_event, log_file=log_file,
                       stop_event=stop_event, log_rotation=Rotation.of(config.settings.log))
    outcome.stats = child.stats
    if child.timed_out:
        outcome.status, outcome.error = "timeout", f"crawl exceeded its timeout of {timeout} and was killed"
    elif child.stopped:
        outcome.status, outcome.error = "killed", "crawl abandoned at shutdown"
    else:
        outcome.status, outcome.error = judge_crawl(child.returncode, child.done, outcome.stats)
    with database.write() as session:
        finish_source_run(
            session, run_id, status=outcome.status, error=outcome.error,
            items_found=int(outcome.stats.get("tocsin/items_found", 0)),
            not_modified=bool(outcome.stats.get("tocsin/not_modified")),
            items_new=len(outcome.new_item_ids), items_updated=len(outcome.updated_item_ids),
            pages_fetched=int(outcome.stats.get("response_received_count", 0)), stats=outcome.stats,
        )
    log.info("crawl %s finished: %s (%d new, %d updated)%s", source_id, outcome.status,
             len(outcome.new_item_ids), len(outcome.updated_item_ids),
             f": {outcome.error}" if outcome.error else "")
    return outcome


def recheck_due(
    *,
    database: Database,
    config: TocsinConfig,
    timeout: timedelta | None = None,
    limit: int = 200,
    on_item: Callable[[int], None] | None = None,
    on_removed: Callable[[int, str], None] | None = None,
    log_file: Path | None = None,
    stop_event: threading.Event | None = None,
    scrapy_settings: dict[str, Any] | None = None,
) -> RecheckOutcome:
    """Re-fetch matched items inside their re-check window (crawler.recheck), in one child process.

    ``on_item(id)`` is called for each item whose text changed (a new version, to be matched again),
    ``on_removed(id, reason)`` for each item newly marked removed (state media deleting an article is
    itself worth an alert). Items checked within the last hour are left for the next call. The child
    uses ``config``'s sources and crawl settings, never the files; ``timeout`` defaults to
    ``schedule.crawl_timeout``.
    """
    timeout = timeout or config.settings.schedule.crawl_timeout
    plan = recheck_plan(config, database_url=database.url, timeout=timeout, limit=limit,
                        scrapy=scrapy_settings)
    outcome = RecheckOutcome(status="failed")

    def _on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "item":
            outcome.updated_item_ids.append(int(event["id"]))
            if on_item is not None:
                on_item(int(event["id"]))
        elif event.get("event") == "removed":
            outcome.removed_item_ids.append(int(event["id"]))
            if on_removed is not None:
                on_removed(int(event["id"]), str(event.get("reason", "")))

    child = _run_child(plan, config.directory, timeout=timeout, on_event=_on_event, log_file=log_file,
                       stop_event=stop_event, log_rotation=Rotation.of(config.settings.log))
    outcome.stats = child.stats
    outcome.checked = int(outcome.stats.get("tocsin/recheck_targets", 0))
    if child.timed_out:
        outcome.status = "timeout"
        outcome.error = f"re-check exceeded its timeout of {timeout} and was killed"
    elif child.stopped:
        outcome.status, outcome.error = "killed", "re-check abandoned at shutdown"
    elif child.done is None or not child.done.get("ok"):
        error = (child.done or {}).get("error")
        outcome.error = str(error or f"re-check exited with code {child.returncode}")
    else:
        outcome.status = "ok"
    log.info("re-check finished: %s (%d checked, %d edited, %d removed)", outcome.status, outcome.checked,
             len(outcome.updated_item_ids), len(outcome.removed_item_ids))
    return outcome
