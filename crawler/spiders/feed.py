"""RSS/Atom feeds: parsed by feedparser (tolerant of real-world feeds), entries followed to the article."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy.http import Response

from config.sources import FeedSource
from crawler.dates import parse_date
from crawler.extract import canonicalize_url
from crawler.spiders.base import CrawledItem, SourceSpider, html_to_text, snapshot_of


def _entry_date(entry: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        if entry.get(key) and (parsed := parse_date(str(entry[key]))):
            return parsed
    return None


class FeedSpider(SourceSpider):
    """Reads the feed, then fetches each new entry's page (``follow_links: false`` keeps the summary)."""

    kind = "feed"
    source: FeedSource

    async def start(self) -> Any:
        yield self.index_request(self.source.url, self.parse_feed)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if self.not_modified(response):
            return
        feed = feedparser.parse(response.body, response_headers={
            k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v
        })
        if feed.bozo and not feed.entries:
            self.logger.error("not a readable feed: %s (%s)", response.url, feed.get("bozo_exception"))
            self.stat("index_unreadable")
            return
        self.found(len(feed.entries))
        for entry in feed.entries:
            link = entry.get("link")
            if not link:
                continue
            url = canonicalize_url(response.urljoin(link))
            title = html_to_text(str(entry.get("title", "")))
            summary = str(entry.get("summary", ""))
            published = _entry_date(entry)
            if not self.wants(url):
                continue
            if self.source.follow_links:
                yield self.article_request(url, {"url": url, "title": title, "text": summary,
                                                 "published_at": published})
            elif text := html_to_text(summary):
                yield CrawledItem(
                    source_id=self.source.id, url=url, title=title, text=text,
                    fetched_at=datetime.now(UTC), lang=self.source.lang,
                    published_at=published, snapshot=snapshot_of(response),
                    external_id=str(entry.get("id") or "")[:200] or None,
                )
