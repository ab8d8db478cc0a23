"""Keep a database that runs for months healthy: bounded raw evidence, bounded history, fresh statistics.

- Evidence retention: raw response bodies (``Snapshot.body_gzip``) older than ``evidence_max_age``, or the
  oldest ones beyond ``evidence_max_bytes``, are pruned. The SHA-256, size, headers and fetch time stay,
  so an exported record still says what was fetched and can be checked against another copy. Bodies of
  items that matched a rule are the alerts' evidence and are kept (``keep_matched_evidence``).
- History: crawl runs older than ``crawl_run_retention`` are deleted (source health lives on ``sources``);
  send attempts older than ``delivery_attempt_retention`` of deliveries the dispatcher is done with (the
  delivery row itself, with its status and last error, stays); conditional-GET validators of URLs not
  refreshed within ``http_cache_retention`` (listing pages, dated sitemaps and Telegram ``?before=``
  pages leave a new URL behind all the time; a dropped validator only costs one full fetch).
- Maintenance: SQLite ``PRAGMA optimize``, incremental vacuum and a WAL checkpoint; PostgreSQL ``ANALYZE``.
- Crash recovery at start: crawl runs left ``running`` by a killed process are closed as ``killed``.
  (Deliveries left ``sending`` are the dispatcher's: it resends them once their lease expires.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from config.schema import ServiceSettings
from storage import alerts_repo, housekeeping_repo
from storage.db import Database
from storage.housekeeping_repo import maintain_database
from storage.models import utcnow

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class RecoveryReport:
    crawl_runs_closed: int = 0


@dataclass
class PruneReport:
    pruned: int = 0
    bytes_freed: int = 0
    stored_bytes: int = 0
    over_budget: bool = False  # protected evidence alone exceeds the size budget


@dataclass
class HousekeepingReport:
    evidence: PruneReport
    crawl_runs_deleted: int
    maintenance: str
    delivery_attempts_deleted: int = 0
    http_cache_deleted: int = 0


def recover_after_crash(database: Database, *, now: datetime | None = None) -> RecoveryReport:
    """Close what a killed instance left open. Only call this while holding the instance lock."""
    now = now or utcnow()
    with database.write() as session:
        runs = housekeeping_repo.close_running_crawl_runs(session, now=now)
    report = RecoveryReport(crawl_runs_closed=runs)
    if runs:
        log.warning(
            "recovered after an unclean stop: %d crawl runs closed as killed",
            runs,
            extra={"crawl_runs": runs},
        )
    return report


def stored_evidence_bytes(database: Database) -> int:
    with database.read() as session:
        return housekeeping_repo.stored_evidence_bytes(session)


def _prune_ids(database: Database, ids: list[int], now: datetime) -> None:
    with database.write() as session:
        housekeeping_repo.clear_snapshot_bodies(session, ids, now=now)


def prune_evidence(
    database: Database,
    *,
    max_age: timedelta,
    max_bytes: int,
    keep_matched: bool = True,
    now: datetime | None = None,
) -> PruneReport:
    """Drop raw bodies past the age limit, then the oldest ones until the total fits ``max_bytes``."""
    now = now or utcnow()
    report = PruneReport()
    while True:  # by age, in short write transactions so crawls are never blocked for long
        with database.read() as session:
            rows = housekeeping_repo.prunable_snapshots(
                session, keep_matched=keep_matched, fetched_before=now - max_age, limit=BATCH
            )
        if not rows:
            break
        _prune_ids(database, [row[0] for row in rows], now)
        report.pruned += len(rows)
        report.bytes_freed += sum(int(row[1]) for row in rows)
    total = stored_evidence_bytes(database)
    while total > max_bytes:  # by size, oldest first
        with database.read() as session:
            rows = housekeeping_repo.prunable_snapshots(session, keep_matched=keep_matched, limit=BATCH)
        if not rows:
            report.over_budget = True
            log.warning(
                "evidence of matched items alone takes %d bytes, over the %d-byte budget",
                total,
                max_bytes,
                extra={"stored_bytes": total, "budget": max_bytes},
            )
            break
        chosen, freed = [], 0
        for snapshot_id, size in rows:
            if total - freed <= max_bytes:
                break
            chosen.append(snapshot_id)
            freed += int(size)
        _prune_ids(database, chosen, now)
        report.pruned += len(chosen)
        report.bytes_freed += freed
        total -= freed
    report.stored_bytes = total
    return report


def prune_crawl_runs(
    database: Database, *, older_than: timedelta, now: datetime | None = None
) -> int:
    cutoff = (now or utcnow()) - older_than
    with database.write() as session:
        return housekeeping_repo.delete_crawl_runs(session, started_before=cutoff)


def prune_delivery_attempts(
    database: Database, *, older_than: timedelta, now: datetime | None = None
) -> int:
    """Old send attempts of finished deliveries, in short write transactions (the dispatcher keeps going)."""
    cutoff = (now or utcnow()) - older_than
    deleted = 0
    while True:
        with database.write() as session:
            batch = alerts_repo.prune_delivery_attempts(session, started_before=cutoff, limit=BATCH)
        deleted += batch
        if batch < BATCH:
            return deleted


def prune_http_cache(database: Database, *, older_than: timedelta, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - older_than
    with database.write() as session:
        return housekeeping_repo.delete_http_cache(session, updated_before=cutoff)


def run_housekeeping(
    database: Database, settings: ServiceSettings, *, now: datetime | None = None
) -> HousekeepingReport:
    evidence = prune_evidence(
        database,
        max_age=settings.evidence_max_age,
        max_bytes=settings.evidence_max_bytes,
        keep_matched=settings.keep_matched_evidence,
        now=now,
    )
    runs = prune_crawl_runs(database, older_than=settings.crawl_run_retention, now=now)
    attempts = prune_delivery_attempts(database, older_than=settings.delivery_attempt_retention, now=now)
    validators = prune_http_cache(database, older_than=settings.http_cache_retention, now=now)
    maintenance = maintain_database(database)
    log.info(
        "housekeeping: pruned %d evidence bodies (%d bytes), deleted %d old crawl runs, %d old delivery "
        "attempts, %d stale HTTP validators; %s",
        evidence.pruned,
        evidence.bytes_freed,
        runs,
        attempts,
        validators,
        maintenance,
        extra={
            "evidence_pruned": evidence.pruned,
            "bytes_freed": evidence.bytes_freed,
            "evidence_bytes": evidence.stored_bytes,
            "crawl_runs_deleted": runs,
            "delivery_attempts_deleted": attempts,
            "http_cache_deleted": validators,
        },
    )
    return HousekeepingReport(evidence=evidence, crawl_runs_deleted=runs, maintenance=maintenance,
                              delivery_attempts_deleted=attempts, http_cache_deleted=validators)


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    return trim


_MALLOC_TRIM = _load_malloc_trim()


def release_free_memory() -> bool:
    """Give memory freed inside glibc's per-thread malloc arenas back to the OS.

    Why: the service's long-lived threads (matcher, dispatcher) allocate and free article-sized buffers all
    day; glibc keeps the freed pages in each thread's arena, so RSS creeps up although nothing leaks.
    """
    return _MALLOC_TRIM is not None and bool(_MALLOC_TRIM(0))
