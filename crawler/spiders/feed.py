"""RSS/Atom feeds: parsed by feedparser (tolerant of real-world feeds), entries followed to the article."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import scrapy
from scrapy.http import Response

from config.sources import FeedSource
from crawler.dates import parse_date
from crawler.extract import canonicalize_url
from crawler.spiders.base import SourceSpider, snapshot_of
from storage.records import ItemRecord


def _entry_date(entry: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        if entry.get(key) and (parsed := parse_date(str(entry[key]))):
            return parsed
    return None


class FeedSpider(SourceSpider):
    kind = "feed"
    source: FeedSource

    async def start(self) -> Any:
        yield scrapy.Request(self.source.url, callback=self.parse_feed, dont_filter=True)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        feed = feedparser.parse(response.body, response_headers={
            k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v
        })
        if feed.bozo and not feed.entries:
            self.logger.error("not a readable feed: %s (%s)", response.url, feed.get("bozo_exception"))
            self.crawler.stats.inc_value("tocsin/feed_unreadable")
            return
        self.crawler.stats.set_value("tocsin/feed_entries", len(feed.entries))
        for entry in feed.entries:
            link = entry.get("link")
            if not link:
                continue
            url = canonicalize_url(response.urljoin(link))
            fallbacks = {
                "url": url,
                "title": str(entry.get("title", "")),
                "text": str(entry.get("summary", "")),
                "published_at": _entry_date(entry),
            }
            if not self.wants(url):
                continue
            if self.source.follow_links:
                yield scrapy.Request(url, callback=self.parse_article, cb_kwargs={"fallbacks": fallbacks})
            else:
                yield ItemRecord(
                    source_id=self.source.id, url=url, title=fallbacks["title"], text=fallbacks["text"],
                    fetched_at=datetime.now(UTC), lang=self.source.lang,
                    published_at=fallbacks["published_at"], snapshot=snapshot_of(response),
                )

    def parse_article(self, response: Response, fallbacks: dict[str, Any]) -> Iterator[ItemRecord]:
        yield from self.article_record(response, **fallbacks)
