"""Store every extracted item, with its evidence, as soon as it arrives.

Each stored new or edited item is announced on stdout as one ``TOCSIN {json}`` line, so the parent
process can match it at once instead of waiting for the crawl to end. Re-check results (edits and
deletions, crawler.recheck) come through here too.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler.recheck import CheckedRecord, RemovalRecord
from crawler.spiders.base import CrawledItem
from storage.crawl_repo import add_item_flags, mark_checked, mark_removed, set_item_details
from storage.db import Database
from storage.records import ItemRecord, StoreOutcome
from storage.repository import store_item

EVENT_PREFIX = "TOCSIN "


def announce(event: str, **fields: Any) -> None:
    """Tell the parent process something happened (one JSON line on stdout)."""
    sys.stdout.write(EVENT_PREFIX + json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class StoragePipeline:
    def __init__(self, database_url: str, stats: StatsCollector, recheck_for: timedelta) -> None:
        self.database = Database(database_url)
        self.stats = stats
        self.recheck_for = recheck_for

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        url = crawler.settings.get("TOCSIN_DATABASE_URL")
        if not url:
            raise NotConfigured("TOCSIN_DATABASE_URL not set")
        recheck = timedelta(seconds=crawler.settings.getfloat("TOCSIN_RECHECK_SECONDS", 7 * 86400))
        assert crawler.stats is not None
        return cls(url, crawler.stats, recheck)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ItemRecord):
            self._store(item)
        elif isinstance(item, RemovalRecord):
            with self.database.write() as session:
                newly = mark_removed(session, item.item_id, reason=item.reason, evidence=item.evidence)
            self.stats.inc_value("tocsin/items_removed")
            if newly:
                announce("removed", id=item.item_id, reason=item.reason)
        elif isinstance(item, CheckedRecord):
            with self.database.write() as session:
                mark_checked(session, item.item_id)
            self.stats.inc_value(f"tocsin/recheck_{item.outcome}")
        return item

    def _store(self, item: ItemRecord) -> None:
        with self.database.write() as session:
            result = store_item(session, item, recheck_for=self.recheck_for)
            if result.item_id is not None and result.outcome in (StoreOutcome.NEW, StoreOutcome.UPDATED):
                if isinstance(item, CrawledItem) and item.details:
                    set_item_details(session, result.item_id, item.details)
                if item.flags and result.outcome is StoreOutcome.UPDATED:
                    add_item_flags(session, result.item_id, item.flags)
        self.stats.inc_value(f"tocsin/items_{result.outcome.value}")
        self.stats.inc_value("tocsin/items_seen")
        if result.outcome in (StoreOutcome.NEW, StoreOutcome.UPDATED):
            announce("item", id=result.item_id, outcome=result.outcome.value, version=result.version)

    def close_spider(self) -> None:
        self.database.dispose()
