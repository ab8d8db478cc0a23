"""Repository functions: each takes a Session and never commits; the caller owns the transaction."""

from __future__ import annotations

import difflib
import gzip
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, select
from sqlalchemy.orm import Session, joinedload

from storage.models import CrawlRun, Item, ItemVersion, Match, Snapshot, Source, utcnow
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

# A response's identity within one crawl: requested URL, final URL, status and the body's SHA-256.
# Records that share it (every post of one Telegram channel page) share one Snapshot row.
SnapshotKey = tuple[str, str, int, str]
MAX_GROUP = 500  # records looked up with one IN (...) query


def snapshot_key(record: SnapshotRecord) -> SnapshotKey:
    sha256 = record.evidence.sha256 if record.evidence else hashlib.sha256(record.body).hexdigest()
    return (record.url, record.final_url, record.status, sha256)


def _snapshot_row(record: SnapshotRecord) -> dict[str, Any]:
    evidence = record.body_evidence()
    return {"url": record.url, "final_url": record.final_url, "status": record.status,
            "headers": dict(record.headers), "body_gzip": evidence.body_gzip, "body_size": evidence.size,
            "sha256": evidence.sha256, "fetched_at": record.fetched_at}


def add_snapshot(session: Session, record: SnapshotRecord) -> Snapshot:
    snapshot = Snapshot(**_snapshot_row(record))
    session.add(snapshot)
    session.flush()
    return snapshot


def _snapshot_id(session: Session, record: SnapshotRecord | None, known: dict[SnapshotKey, int]) -> int | None:
    """The id of the row keeping this response, adding it unless this crawl stored it already."""
    if record is None:
        return None
    key = snapshot_key(record)
    if key not in known:
        known[key] = add_snapshot(session, record).id
    return known[key]


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
    return store_items(session, [record])[0]


def store_items(session: Session, records: Sequence[ItemRecord], *,
                snapshot_ids: dict[SnapshotKey, int] | None = None) -> list[StoreResult]:
    """:func:`store_item` for many records at once, with the same outcome as storing them one by one.

    New items (the common case) cost two lookups and two multi-row INSERTs per group of records instead
    of a dozen ORM statements each; an edit takes the ORM path. ``snapshot_ids`` remembers the
    responses already stored (the caller keeps it across batches of one crawl and must drop the
    entries of a rolled-back transaction: pass a copy).
    """
    results: list[StoreResult] = []
    known = snapshot_ids if snapshot_ids is not None else {}
    start = 0
    while start < len(records):
        start = _store_group(session, records, start, results, known)
    return results


def _group_end(records: Sequence[ItemRecord], start: int) -> int:
    """Records from ``start`` up to (not including) the first URL seen twice: one lookup answers them all."""
    urls: set[str] = set()
    end = start
    while end < len(records) and end - start < MAX_GROUP and records[end].url not in urls:
        urls.add(records[end].url)
        end += 1
    return end


def _store_group(session: Session, records: Sequence[ItemRecord], start: int, results: list[StoreResult],
                 known: dict[SnapshotKey, int]) -> int:
    """Store records[start:] up to the end of a group or the first edit (which is stored too);
    returns where the next group starts."""
    end = _group_end(records, start)
    group = records[start:end]
    digests = [record.content_sha256 for record in group]
    existing = {row.url: row for row in session.execute(
        select(Item.id, Item.url, Item.content_sha256, Item.version).where(Item.url.in_([r.url for r in group]))
    )}
    taken: dict[tuple[str, str], int] = {}
    hashes = {digest for record, digest in zip(group, digests, strict=True) if record.url not in existing}
    if hashes:
        # By hash only: SQLite would otherwise pick the source_id index and scan the whole source.
        query = select(Item.id, Item.source_id, Item.content_sha256).where(Item.content_sha256.in_(hashes))
        for item_id, source_id, digest in session.execute(query.order_by(Item.id)):
            taken.setdefault((source_id, digest), item_id)
    fresh: list[tuple[int, ItemRecord, str]] = []  # (result index, record, digest) of new items
    copies: list[tuple[int, int, str]] = []  # (result index, index in fresh, url): duplicates of new items
    fresh_keys: dict[tuple[str, str], int] = {}
    placeholder = StoreResult(StoreOutcome.NEW, None)
    edit: tuple[int, int] | None = None  # (offset in group, stored item id) of the first edit
    for offset, (record, digest) in enumerate(zip(group, digests, strict=True)):
        row = existing.get(record.url)
        if row is not None:
            if row.content_sha256 == digest:
                results.append(StoreResult(StoreOutcome.UNCHANGED, row.id, row.version))
                continue
            edit = (offset, row.id)
            break
        key = (record.source_id, digest)
        if key in taken:
            results.append(StoreResult(StoreOutcome.DUPLICATE, taken[key], details={"url": record.url}))
        elif key in fresh_keys:
            copies.append((len(results), fresh_keys[key], record.url))
            results.append(placeholder)
        else:
            fresh_keys[key] = len(fresh)
            fresh.append((len(results), record, digest))
            results.append(placeholder)
    ids = _insert_items(session, [(record, digest) for _, record, digest in fresh], known)
    for (index, _, _), item_id in zip(fresh, ids, strict=True):
        results[index] = StoreResult(StoreOutcome.NEW, item_id, 1)
    for index, original, url in copies:
        results[index] = StoreResult(StoreOutcome.DUPLICATE, ids[original], details={"url": url})
    if edit is None:
        return end
    offset, item_id = edit
    results.append(_store_edit(session, group[offset], digests[offset], item_id, known))
    return start + offset + 1


def _insert_items(session: Session, new: Sequence[tuple[ItemRecord, str]],
                  known: dict[SnapshotKey, int]) -> list[int]:
    """Insert new items and their responses with one multi-row INSERT each; the items' ids, in order."""
    if not new:
        return []
    keys = [snapshot_key(record.snapshot) if record.snapshot else None for record, _ in new]
    pending: dict[SnapshotKey, dict[str, Any]] = {}
    for (record, _), key in zip(new, keys, strict=True):
        if record.snapshot is not None and key is not None and key not in known and key not in pending:
            pending[key] = _snapshot_row(record.snapshot)
    if pending:
        statement = insert(Snapshot).returning(Snapshot.id, sort_by_parameter_order=True)
        known.update(zip(pending, session.scalars(statement, list(pending.values())), strict=True))
    items = [{
        "source_id": record.source_id, "url": record.url, "external_id": record.external_id,
        "title": record.title, "text": record.text, "author": record.author, "lang": record.lang,
        "published_at": record.published_at, "fetched_at": record.fetched_at, "content_sha256": digest,
        "fingerprint": record.fingerprint, "snapshot_id": known[key] if key is not None else None,
        "flags": list(record.flags), "details": dict(record.details),
    } for (record, digest), key in zip(new, keys, strict=True)]
    return list(session.scalars(insert(Item).returning(Item.id, sort_by_parameter_order=True), items))


def _store_edit(session: Session, record: ItemRecord, digest: str, item_id: int,
                known: dict[SnapshotKey, int]) -> StoreResult:
    """A stored item whose text changed: keep the old text as a version, with the diff, and update it."""
    existing = session.get_one(Item, item_id)
    snapshot_id = _snapshot_id(session, record.snapshot, known)
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
    existing.snapshot_id = snapshot_id if snapshot_id is not None else existing.snapshot_id
    existing.status, existing.removed_at, existing.removal_reason = "active", None, None
    if record.details:
        existing.details = {**(existing.details or {}), **record.details}
    if record.flags:
        current = list(existing.flags or [])
        existing.flags = current + [flag for flag in record.flags if flag not in current]
    session.flush()
    return StoreResult(StoreOutcome.UPDATED, existing.id, existing.version)


def _is_pending() -> ColumnElement[bool]:
    """An active item whose current version has not been matched yet."""
    return and_(Item.matched_version < Item.version, Item.status == "active")


def pending_item_ids(session: Session, *, limit: int = 500, item_ids: Sequence[int] | None = None) -> list[int]:
    """Ids of the items whose current version has not been matched yet, oldest first."""
    query = select(Item.id).where(_is_pending())
    if item_ids is not None:
        query = query.where(Item.id.in_(list(item_ids)))
    return list(session.scalars(query.order_by(Item.id).limit(limit)))


def pending_items(session: Session, item_ids: Sequence[int]) -> list[Item]:
    """Those of ``item_ids`` still pending (another process may have matched some), with their sources."""
    query = select(Item).where(_is_pending(), Item.id.in_(list(item_ids))).options(joinedload(Item.source))
    return list(session.scalars(query.order_by(Item.id)))


def list_items(
    session: Session, *, source_id: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[Item]:
    query = select(Item)
    if source_id:
        query = query.where(Item.source_id == source_id)
    if since:
        query = query.where(Item.fetched_at >= since)
    return list(session.scalars(query.order_by(Item.id.desc()).limit(limit)))



def matched_items_since(session: Session, since: datetime) -> list[Item]:
    """Active items fetched since ``since`` that were matched at least once, oldest first."""
    query = select(Item).where(Item.fetched_at >= since, Item.status == "active", Item.matched_version > 0)
    return list(session.scalars(query.order_by(Item.id)))


def version_matches(session: Session, item_id: int, version: int) -> list[Match]:
    """The matches of one version of an item."""
    return list(session.scalars(select(Match).where(Match.item_id == item_id, Match.item_version == version)))

def count_rows(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- matches (alerts and the outbox live in storage/alerts_repo.py) ---------------------------------


def add_match(session: Session, match: Match) -> Match:
    session.add(match)
    session.flush()
    return match
