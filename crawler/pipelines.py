"""Store every extracted item, with its evidence, as soon as it arrives.

Each stored new or edited item is announced on stdout as one ``TOCSIN {json}`` line, so the parent
process can match it at once instead of waiting for the crawl to end. Re-check results (edits and
deletions, crawler.recheck) come through here too.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet.task import LoopingCall

from crawler.recheck import CheckedRecord, RemovalRecord
from storage.crawl_repo import mark_checked, mark_removed
from storage.db import Database
from storage.records import ItemRecord, StoreOutcome, StoreResult
from storage.repository import SnapshotKey, store_items

EVENT_PREFIX = "TOCSIN "
ANNOUNCED = (StoreOutcome.NEW, StoreOutcome.UPDATED)
SNAPSHOTS_REMEMBERED = 512  # responses of this crawl whose snapshot ids are kept for reuse
log = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


def event_line(event: str, **fields: Any) -> str:
    return EVENT_PREFIX + json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n"


def announce(event: str, **fields: Any) -> None:
    """Tell the parent process something happened (one JSON line on stdout)."""
    sys.stdout.write(event_line(event, **fields))
    sys.stdout.flush()


def announce_all(events: Sequence[Event]) -> None:
    """Many events in one write (one system call per batch, not per item)."""
    if events:
        sys.stdout.write("".join(event_line(event, **fields) for event, fields in events))
        sys.stdout.flush()


@dataclass
class Applied:
    """What storing some records did: stats to count and events to announce once committed."""

    stats: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def add(self, other: Applied) -> None:
        self.stats += other.stats
        self.events += other.events


Record = ItemRecord | RemovalRecord | CheckedRecord


class StoragePipeline:
    """Writes items in batches, one transaction and a few multi-row statements per batch, then announces them.

    An item is announced only after its batch committed, at most ``TOCSIN_STORE_FLUSH_SECONDS`` after
    it was extracted. When a batch fails it is stored again item by item, a savepoint each, so one bad
    item never loses the others (docs PERFORMANCE "SQLite": per-row ORM inserts cost 10x bulk ones).
    """

    def __init__(self, database_url: str, stats: StatsCollector, *,
                 batch_size: int = 100, flush_seconds: float = 0.5) -> None:
        self.database = Database(database_url)
        self.stats = stats
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.pending: list[Record] = []
        self.timer: LoopingCall | None = None
        # Responses stored by this crawl (every post of a channel page shares its page's snapshot).
        self.snapshot_ids: dict[SnapshotKey, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        url = settings.get("TOCSIN_DATABASE_URL")
        if not url:
            raise NotConfigured("TOCSIN_DATABASE_URL not set")
        assert crawler.stats is not None
        return cls(url, crawler.stats, batch_size=settings.getint("TOCSIN_STORE_BATCH", 100),
                   flush_seconds=settings.getfloat("TOCSIN_STORE_FLUSH_SECONDS", 0.5))

    def open_spider(self) -> None:
        self.timer = LoopingCall(self.flush)
        self.timer.start(self.flush_seconds, now=False)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ItemRecord | RemovalRecord | CheckedRecord):
            self.pending.append(item)
            if len(self.pending) >= self.batch_size:
                self.flush()
        return item

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            applied = self._store_batch(batch)
        except SQLAlchemyError as exc:
            log.warning("a batch of %d items failed (%s); storing them one by one", len(batch), exc)
            try:
                applied = self._store_one_by_one(batch)
            except SQLAlchemyError as again:
                self.stats.inc_value("tocsin/store_errors", len(batch))
                log.error("could not store a batch of %d items: %s", len(batch), again)
                return
        for key in applied.stats:
            self.stats.inc_value(key)
        announce_all(applied.events)

    def _store_batch(self, batch: Sequence[Record]) -> Applied:
        snapshot_ids = dict(self.snapshot_ids)  # a rolled-back batch must not leave its ids behind
        with self.database.write() as session:
            applied = self._apply(session, batch, snapshot_ids)
        self._remember(snapshot_ids)
        return applied

    def _store_one_by_one(self, batch: Sequence[Record]) -> Applied:
        applied = Applied()
        snapshot_ids = dict(self.snapshot_ids)
        with self.database.write() as session:
            for record in batch:
                attempt = dict(snapshot_ids)
                try:
                    with session.begin_nested():
                        applied.add(self._apply(session, [record], attempt))
                except SQLAlchemyError as exc:
                    applied.stats.append("tocsin/store_errors")
                    log.error("could not store %s: %s", getattr(record, "url", record), exc)
                    continue
                snapshot_ids = attempt
        self._remember(snapshot_ids)
        return applied

    def _remember(self, snapshot_ids: dict[SnapshotKey, int]) -> None:
        if len(snapshot_ids) > SNAPSHOTS_REMEMBERED:
            snapshot_ids = dict(list(snapshot_ids.items())[-SNAPSHOTS_REMEMBERED // 2:])
        self.snapshot_ids = snapshot_ids

    def _apply(self, session: Session, batch: Sequence[Record], snapshot_ids: dict[SnapshotKey, int]) -> Applied:
        """Store a batch in order: runs of items together, re-check outcomes one at a time."""
        applied = Applied()
        run: list[ItemRecord] = []
        for record in [*batch, None]:
            if isinstance(record, ItemRecord):
                run.append(record)
                continue
            if run:
                results = store_items(session, run, snapshot_ids=snapshot_ids)
                for result in results:
                    applied.add(self._stored(result))
                run = []
            if record is not None:
                applied.add(self._recheck_outcome(session, record))
        return applied

    @staticmethod
    def _stored(result: StoreResult) -> Applied:
        applied = Applied([f"tocsin/items_{result.outcome.value}", "tocsin/items_seen"])
        if result.outcome in ANNOUNCED:
            applied.events.append(("item", {"id": result.item_id, "outcome": result.outcome.value,
                                            "version": result.version}))
        return applied

    @staticmethod
    def _recheck_outcome(session: Session, record: RemovalRecord | CheckedRecord) -> Applied:
        if isinstance(record, RemovalRecord):
            newly = mark_removed(session, record.item_id, reason=record.reason, evidence=record.evidence)
            events: list[Event] = [("removed", {"id": record.item_id, "reason": record.reason})] if newly else []
            return Applied(["tocsin/items_removed"], events)
        mark_checked(session, record.item_id)
        return Applied([f"tocsin/recheck_{record.outcome}"])

    def close_spider(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.flush()
        self.database.dispose()
