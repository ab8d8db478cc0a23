"""Store every extracted item, with its evidence, as soon as it arrives.

Each stored new or edited item is announced on stdout as one ``TOCSIN {json}`` line, so the parent
process can match it at once instead of waiting for the crawl to end. Re-check results (edits and
deletions, crawler.recheck) come through here too.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twisted.internet.task import LoopingCall

from crawler.recheck import CheckedRecord, RemovalRecord
from crawler.spiders.base import CrawledItem
from storage.crawl_repo import add_item_flags, mark_checked, mark_removed, set_item_details
from storage.db import Database
from storage.records import ItemRecord, StoreOutcome
from storage.repository import store_item

EVENT_PREFIX = "TOCSIN "
log = logging.getLogger(__name__)


def announce(event: str, **fields: Any) -> None:
    """Tell the parent process something happened (one JSON line on stdout)."""
    sys.stdout.write(EVENT_PREFIX + json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class StoragePipeline:
    """Writes items in small batches (one transaction per batch, a savepoint per item), then announces them.

    Batching halves the per-item cost of storage (docs PERFORMANCE "SQLite"); an item is announced only
    after its batch committed, at most ``TOCSIN_STORE_FLUSH_SECONDS`` after it was extracted. One bad
    item rolls back its own savepoint, never the batch.
    """

    def __init__(self, database_url: str, stats: StatsCollector, *,
                 batch_size: int = 25, flush_seconds: float = 0.5) -> None:
        self.database = Database(database_url)
        self.stats = stats
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.pending: list[Any] = []
        self.timer: LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        url = settings.get("TOCSIN_DATABASE_URL")
        if not url:
            raise NotConfigured("TOCSIN_DATABASE_URL not set")
        assert crawler.stats is not None
        return cls(url, crawler.stats, batch_size=settings.getint("TOCSIN_STORE_BATCH", 25),
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
        events: list[tuple[str, dict[str, Any]]] = []
        try:
            with self.database.write() as session:
                for item in batch:
                    try:
                        with session.begin_nested():
                            events.extend(self._apply(session, item))
                    except SQLAlchemyError as exc:
                        self.stats.inc_value("tocsin/store_errors")
                        log.error("could not store %s: %s", getattr(item, "url", item), exc)
        except SQLAlchemyError as exc:
            self.stats.inc_value("tocsin/store_errors", len(batch))
            log.error("could not store a batch of %d items: %s", len(batch), exc)
            return
        for event, fields in events:
            announce(event, **fields)

    def _apply(self, session: Session, item: Any) -> list[tuple[str, dict[str, Any]]]:
        if isinstance(item, RemovalRecord):
            newly = mark_removed(session, item.item_id, reason=item.reason, evidence=item.evidence)
            self.stats.inc_value("tocsin/items_removed")
            return [("removed", {"id": item.item_id, "reason": item.reason})] if newly else []
        if isinstance(item, CheckedRecord):
            mark_checked(session, item.item_id)
            self.stats.inc_value(f"tocsin/recheck_{item.outcome}")
            return []
        result = store_item(session, item)
        if result.item_id is not None and result.outcome in (StoreOutcome.NEW, StoreOutcome.UPDATED):
            if isinstance(item, CrawledItem) and item.details:
                set_item_details(session, result.item_id, item.details)
            if item.flags and result.outcome is StoreOutcome.UPDATED:
                add_item_flags(session, result.item_id, item.flags)
        self.stats.inc_value(f"tocsin/items_{result.outcome.value}")
        self.stats.inc_value("tocsin/items_seen")
        if result.outcome not in (StoreOutcome.NEW, StoreOutcome.UPDATED):
            return []
        return [("item", {"id": result.item_id, "outcome": result.outcome.value, "version": result.version})]

    def close_spider(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self.flush()
        self.database.dispose()
