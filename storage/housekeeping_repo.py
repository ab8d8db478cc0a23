"""Queries of the housekeeping job: crash recovery, evidence pruning, old history, database maintenance.

Each takes a Session and never commits (the job runs them in short write transactions, so crawls are
never blocked for long), except :func:`maintain_database`, which needs a connection outside any
transaction (SQLite's VACUUM cannot run inside one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, select, union, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import CrawlRun, HttpCache, Item, ItemVersion, Match, Snapshot

VACUUM_FREE_RATIO = 0.25


def _count(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount or 0)


def close_running_crawl_runs(session: Session, *, now: datetime) -> int:
    """Close as ``killed`` the crawl runs a killed process left ``running``; how many."""
    return _count(
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.status == "running")
            .values(
                status="killed", finished_at=now, error="the service stopped during this crawl"
            )
        )
    )


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


def prunable_snapshots(session: Session, *, keep_matched: bool, limit: int,
                       fetched_before: datetime | None = None) -> list[tuple[int, int]]:
    """(id, body size) of the oldest snapshots that still have a body (not matched items', with
    ``keep_matched``), fetched before ``fetched_before`` when given."""
    query = _prunable(keep_matched=keep_matched)
    if fetched_before is not None:
        query = query.where(Snapshot.fetched_at < fetched_before)
    return [(int(row[0]), int(row[1])) for row in session.execute(query.limit(limit)).all()]


def stored_evidence_bytes(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(func.length(Snapshot.body_gzip)), 0))) or 0)


def clear_snapshot_bodies(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    """Drop the raw bodies of these snapshots; their hash, size, headers and fetch time stay."""
    session.execute(update(Snapshot).where(Snapshot.id.in_(list(ids))).values(body_gzip=None, pruned_at=now))


def delete_crawl_runs(session: Session, *, started_before: datetime) -> int:
    return _count(
        session.execute(
            delete(CrawlRun).where(CrawlRun.started_at < started_before, CrawlRun.status != "running")
        )
    )


def delete_http_cache(session: Session, *, updated_before: datetime) -> int:
    return _count(session.execute(delete(HttpCache).where(HttpCache.updated_at < updated_before)))


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

