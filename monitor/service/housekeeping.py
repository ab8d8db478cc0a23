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
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, select, union, update

from config.schema import ServiceSettings
from storage import alerts_repo
from storage.db import Database
from storage.models import CrawlRun, HttpCache, Item, ItemVersion, Match, Snapshot, utcnow

log = logging.getLogger(__name__)
BATCH = 500
VACUUM_FREE_RATIO = 0.25


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


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def recover_after_crash(database: Database, *, now: datetime | None = None) -> RecoveryReport:
    """Close what a killed instance left open. Only call this while holding the instance lock."""
    now = now or utcnow()
    with database.write() as session:
        runs = _count(
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.status == "running")
                .values(
                    status="killed", finished_at=now, error="the service stopped during this crawl"
                )
            )
        )
    report = RecoveryReport(crawl_runs_closed=runs)
    if runs:
        log.warning(
            "recovered after an unclean stop: %d crawl runs closed as killed",
            runs,
            extra={"crawl_runs": runs},
        )
    return report


def _protected_snapshot_ids() -> Select[int]:
    matched_items = select(Match.item_id)
    return select(
        union(
            select(Item.snapshot_id).where(
                Item.id.in_(matched_items), Item.snapshot_id.is_not(None)
            ),
            select(ItemVersion.snapshot_id).where(
                ItemVersion.item_id.in_(matched_items), ItemVersion.snapshot_id.is_not(None)
            ),
        )
        .subquery()
        .c[0]
    )


def _prunable(*, keep_matched: bool) -> Select[int, int]:
    query = select(Snapshot.id, func.coalesce(func.length(Snapshot.body_gzip), 0)).where(
        Snapshot.body_gzip.is_not(None)
    )
    if keep_matched:
        query = query.where(Snapshot.id.not_in(_protected_snapshot_ids()))
    return query.order_by(Snapshot.fetched_at, Snapshot.id)


def stored_evidence_bytes(database: Database) -> int:
    with database.read() as session:
        return int(
            session.scalar(select(func.coalesce(func.sum(func.length(Snapshot.body_gzip)), 0))) or 0
        )


def _prune_ids(database: Database, ids: list[int], now: datetime) -> None:
    with database.write() as session:
        session.execute(
            update(Snapshot).where(Snapshot.id.in_(ids)).values(body_gzip=None, pruned_at=now)
        )


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
            rows = session.execute(
                _prunable(keep_matched=keep_matched)
                .where(Snapshot.fetched_at < now - max_age)
                .limit(BATCH)
            ).all()
        if not rows:
            break
        _prune_ids(database, [row[0] for row in rows], now)
        report.pruned += len(rows)
        report.bytes_freed += sum(int(row[1]) for row in rows)
    total = stored_evidence_bytes(database)
    while total > max_bytes:  # by size, oldest first
        with database.read() as session:
            rows = session.execute(_prunable(keep_matched=keep_matched).limit(BATCH)).all()
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
        deleted = _count(
            session.execute(
                delete(CrawlRun).where(CrawlRun.started_at < cutoff, CrawlRun.status != "running")
            )
        )
    return int(deleted or 0)


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
        return _count(session.execute(delete(HttpCache).where(HttpCache.updated_at < cutoff)))


def maintain_database(database: Database) -> str:
    """Cheap, online maintenance; returns what was done."""
    if not database.is_sqlite:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        return "ANALYZE"
    raw = database.engine.raw_connection()  # autocommit: VACUUM cannot run inside a transaction
    try:
        cursor = raw.cursor()
        done = ["PRAGMA optimize"]
        cursor.execute("PRAGMA optimize")
        auto_vacuum = cursor.execute("PRAGMA auto_vacuum").fetchone()[0]
        free = cursor.execute("PRAGMA freelist_count").fetchone()[0]
        pages = cursor.execute("PRAGMA page_count").fetchone()[0] or 1
        if auto_vacuum == 2:
            cursor.execute("PRAGMA incremental_vacuum")
            done.append(f"incremental_vacuum ({free} free pages)")
        elif free / pages > VACUUM_FREE_RATIO:
            # Once: switch to incremental auto-vacuum (takes a full VACUUM); later runs are incremental.
            cursor.execute("PRAGMA auto_vacuum = INCREMENTAL")
            cursor.execute("VACUUM")
            done.append(f"VACUUM to enable incremental vacuum ({free} of {pages} pages were free)")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        done.append("wal_checkpoint")
        cursor.close()
    finally:
        raw.close()
    return ", ".join(done)


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
