"""Run one crawl in a child process, with a hard timeout, and record it as a crawl run.

The parent never imports Scrapy's reactor. It reads the child's ``TOCSIN {json}`` lines as they come, so
each stored item can be matched at once (``on_item``), and kills the child's process group on timeout.
"""

from __future__ import annotations

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

from crawler.pipelines import EVENT_PREFIX
from storage.db import Database
from storage.repository import finish_crawl_run, start_crawl_run, sync_source

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


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _judge(returncode: int, done: dict[str, Any] | None, stats: dict[str, Any]) -> tuple[str, str | None]:
    if done is None:
        return "failed", f"crawl process exited with code {returncode} before finishing"
    if not done.get("ok"):
        return "failed", str(done.get("error") or "crawl failed")
    errors = int(stats.get("log_count/ERROR", 0))
    fetched = int(stats.get("response_received_count", 0))
    if fetched == 0:
        reason = stats.get("finish_reason", "no response")
        exc = next((k for k in stats if k.startswith("downloader/exception_type_count/")), None)
        detail = exc.rsplit("/", 1)[-1] if exc else f"no page could be fetched ({reason})"
        return "failed", detail
    if int(stats.get("tocsin/feed_unreadable", 0)):
        return "failed", "the feed could not be parsed"
    if errors and not stats.get("tocsin/items_seen"):
        return "failed", f"{errors} errors and no items (see the crawl log)"
    return "ok", None


def run_crawl(
    *,
    database: Database,
    config_dir: Path,
    source_id: str,
    source_kind: str,
    source_name: str,
    source_url: str,
    source_tags: list[str],
    timeout: timedelta,
    on_item: Callable[[int], None] | None = None,
    log_file: Path | None = None,
    stop_event: threading.Event | None = None,
) -> CrawlOutcome:
    """Crawl one source in a child process and record the run and the source's health."""
    with database.write() as session:
        sync_source(session, source_id=source_id, kind=source_kind, name=source_name, url=source_url,
                    tags=source_tags)
        run_id = start_crawl_run(session, source_id).id
    command = [sys.executable, "-m", "crawler.child", "--config", str(config_dir), "--source", source_id,
               "--database-url", database.url]
    stderr = open(log_file, "a", encoding="utf-8") if log_file else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}
    outcome = CrawlOutcome(source_id=source_id, run_id=run_id, status="failed")
    done: dict[str, Any] | None = None
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, encoding="utf-8",
                               start_new_session=True, env=env)
    timed_out = threading.Event()

    def _on_timeout() -> None:
        timed_out.set()
        _kill_group(process)

    timer = threading.Timer(timeout.total_seconds(), _on_timeout)
    timer.daemon = True
    timer.start()
    watcher = None
    if stop_event is not None:
        def _watch_stop() -> None:
            while process.poll() is None:
                if stop_event.wait(0.2):
                    process.send_signal(signal.SIGINT)  # Scrapy closes the spider gracefully
                    return
        watcher = threading.Thread(target=_watch_stop, daemon=True)
        watcher.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if not line.startswith(EVENT_PREFIX):
                continue
            try:
                event = json.loads(line[len(EVENT_PREFIX):])
            except json.JSONDecodeError:
                continue
            if event.get("event") == "item":
                (outcome.new_item_ids if event["outcome"] == "new" else outcome.updated_item_ids).append(event["id"])
                if on_item is not None:
                    on_item(int(event["id"]))
            elif event.get("event") == "done":
                done = event
        returncode = process.wait()
    finally:
        timer.cancel()
        if process.poll() is None:
            _kill_group(process)
            process.wait()
        if log_file:
            stderr.close()  # type: ignore[union-attr]
    outcome.stats = dict(done.get("stats", {})) if done else {}
    if timed_out.is_set():
        outcome.status, outcome.error = "timeout", f"crawl exceeded its timeout of {timeout} and was killed"
    elif stop_event is not None and stop_event.is_set() and done is None:
        outcome.status, outcome.error = "killed", "crawl abandoned at shutdown"
    else:
        outcome.status, outcome.error = _judge(returncode, done, outcome.stats)
    with database.write() as session:
        finish_crawl_run(
            session, run_id, status=outcome.status, error=outcome.error,
            items_seen=int(outcome.stats.get("tocsin/items_seen", 0)),
            items_new=len(outcome.new_item_ids), items_updated=len(outcome.updated_item_ids),
            pages_fetched=int(outcome.stats.get("response_received_count", 0)), stats=outcome.stats,
        )
    log.info("crawl %s finished: %s (%d new, %d updated)%s", source_id, outcome.status,
             len(outcome.new_item_ids), len(outcome.updated_item_ids),
             f": {outcome.error}" if outcome.error else "")
    return outcome
