"""Repository functions: each takes a Session and never commits; the caller owns the transaction."""

from __future__ import annotations

import difflib
import gzip
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Alert, CrawlRun, Delivery, Item, ItemVersion, Match, Snapshot, Source, utcnow
from storage.records import ItemRecord, SnapshotRecord, StoreOutcome, StoreResult

# --- sources and crawl runs -------------------------------------------------------------------------


def sync_source(session: Session, *, source_id: str, kind: str, name: str, url: str, tags: list[str]) -> Source:
    """Create or refresh the row that keeps a configured source's state."""
    source = session.get(Source, source_id)
    if source is None:
        source = Source(id=source_id, kind=kind, name=name, url=url, tags=list(tags))
        session.add(source)
    else:
        source.kind, source.name, source.url, source.tags = kind, name, url, list(tags)
    session.flush()
    return source


def start_crawl_run(session: Session, source_id: str) -> CrawlRun:
    run = CrawlRun(source_id=source_id, started_at=utcnow(), status="running")
    session.add(run)
    session.flush()
    return run


def finish_crawl_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    items_seen: int = 0,
    items_new: int = 0,
    items_updated: int = 0,
    pages_fetched: int = 0,
    error: str | None = None,
    stats: dict[str, Any] | None = None,
) -> CrawlRun:
    """Close a run and fold its outcome into the source's health counters."""
    run = session.get_one(CrawlRun, run_id)
    now = utcnow()
    run.finished_at, run.status, run.error = now, status, error
    run.items_seen, run.items_new, run.items_updated = items_seen, items_new, items_updated
    run.pages_fetched = pages_fetched
    run.stats = stats or {}
    source = session.get_one(Source, run.source_id)
    source.last_run_at = now
    source.last_item_count = items_seen
    if status == "ok":
        source.last_success_at = now
        source.consecutive_failures = 0
        source.consecutive_empty_runs = 0 if items_seen else source.consecutive_empty_runs + 1
    else:
        source.last_error_at, source.last_error = now, error or status
        source.consecutive_failures += 1
    session.flush()
    return run


# --- items and evidence -----------------------------------------------------------------------------


def add_snapshot(session: Session, record: SnapshotRecord) -> Snapshot:
    snapshot = Snapshot(
        url=record.url,
        final_url=record.final_url,
        status=record.status,
        headers=dict(record.headers),
        body_gzip=gzip.compress(record.body, compresslevel=6, mtime=0),
        body_size=len(record.body),
        sha256=hashlib.sha256(record.body).hexdigest(),
        fetched_at=record.fetched_at,
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def snapshot_body(snapshot: Snapshot) -> bytes | None:
    """The raw body exactly as received, or None once housekeeping pruned it."""
    return gzip.decompress(snapshot.body_gzip) if snapshot.body_gzip is not None else None


def _text_diff(old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=1)
    return "\n".join(lines)


def store_item(session: Session, record: ItemRecord) -> StoreResult:
    """Insert a new item, record an edit as a new version, or skip an unchanged or duplicate one.

    Dedupe is by canonical URL first, then by content hash within the same source (the same text
    under two URLs of one site is one item).
    """
    digest = record.content_sha256
    existing = session.scalars(select(Item).where(Item.url == record.url)).one_or_none()
    if existing is not None:
        if existing.content_sha256 == digest:
            return StoreResult(StoreOutcome.UNCHANGED, existing.id, existing.version)
        snapshot = add_snapshot(session, record.snapshot) if record.snapshot else None
        session.add(ItemVersion(
            item_id=existing.id,
            version=existing.version,
            title=existing.title,
            text=existing.text,
            content_sha256=existing.content_sha256,
            snapshot_id=existing.snapshot_id,
            fetched_at=existing.fetched_at,
            diff=_text_diff(existing.text, record.text),
        ))
        existing.title, existing.text, existing.content_sha256 = record.title, record.text, digest
        existing.version += 1
        existing.fetched_at = record.fetched_at
        existing.snapshot_id = snapshot.id if snapshot else existing.snapshot_id
        existing.status, existing.removed_at, existing.removal_reason = "active", None, None
        session.flush()
        return StoreResult(StoreOutcome.UPDATED, existing.id, existing.version)
    duplicate_id = session.scalar(
        select(Item.id).where(Item.source_id == record.source_id, Item.content_sha256 == digest).limit(1)
    )
    if duplicate_id is not None:
        return StoreResult(StoreOutcome.DUPLICATE, duplicate_id, details={"url": record.url})
    snapshot = add_snapshot(session, record.snapshot) if record.snapshot else None
    item = Item(
        source_id=record.source_id,
        url=record.url,
        external_id=record.external_id,
        title=record.title,
        text=record.text,
        author=record.author,
        lang=record.lang,
        published_at=record.published_at,
        fetched_at=record.fetched_at,
        content_sha256=digest,
        fingerprint=record.fingerprint,
        snapshot_id=snapshot.id if snapshot else None,
        flags=list(record.flags),
    )
    session.add(item)
    session.flush()
    return StoreResult(StoreOutcome.NEW, item.id, 1)


def known_urls(session: Session, urls: Sequence[str]) -> set[str]:
    """Which of these canonical URLs are already stored (to skip re-fetching articles)."""
    if not urls:
        return set()
    return set(session.scalars(select(Item.url).where(Item.url.in_(list(urls)))))


def pending_items(session: Session, *, limit: int = 500, item_ids: Sequence[int] | None = None) -> list[Item]:
    """Items whose current version has not been matched yet, oldest first."""
    query = select(Item).where(Item.matched_version < Item.version, Item.status == "active")
    if item_ids is not None:
        query = query.where(Item.id.in_(list(item_ids)))
    return list(session.scalars(query.order_by(Item.id).limit(limit)))


def list_items(
    session: Session, *, source_id: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[Item]:
    query = select(Item)
    if source_id:
        query = query.where(Item.source_id == source_id)
    if since:
        query = query.where(Item.fetched_at >= since)
    return list(session.scalars(query.order_by(Item.id.desc()).limit(limit)))


def count_rows(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- matches, alerts, outbox ------------------------------------------------------------------------


def add_match(session: Session, match: Match) -> Match:
    session.add(match)
    session.flush()
    return match


def alert_by_key(session: Session, dedup_key: str) -> Alert | None:
    return session.scalars(select(Alert).where(Alert.dedup_key == dedup_key)).one_or_none()


def list_alerts(
    session: Session, *, state: str | None = None, failed: bool = False, limit: int = 50
) -> list[Alert]:
    query = select(Alert)
    if state:
        query = query.where(Alert.state == state)
    if failed:
        query = query.where(Alert.id.in_(select(Delivery.alert_id).where(Delivery.status == "dead")))
    return list(session.scalars(query.order_by(Alert.id.desc()).limit(limit)))


def due_deliveries(session: Session, *, now: datetime, limit: int = 100) -> list[Delivery]:
    query = (
        select(Delivery)
        .where(Delivery.status.in_(["pending", "sending"]), Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def known_urls_for_source(session: Session, source_id: str) -> list[str]:
    """Every canonical URL already stored for a source (incremental crawling skips them)."""
    return list(session.scalars(select(Item.url).where(Item.source_id == source_id)))
