"""One page watched for changes: its text is the item, and each change is stored as a new version.

The item keeps the source's URL (not the page's canonical link), so every crawl compares against the
same item; ``selectors.text`` narrows the watched region. Fetched with conditional GET.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy.http import Response

from config.sources import PageSource
from crawler.extract import canonicalize_url
from crawler.spiders.base import SourceSpider
from storage.records import ItemRecord


class PageSpider(SourceSpider):
    kind = "page"
    source: PageSource

    async def start(self) -> Any:
        yield self.index_request(self.source.url, self.parse_page)

    async def parse_page(self, response: Response) -> AsyncIterator[ItemRecord]:
        if self.not_modified(response):
            self.found()
            return
        url = canonicalize_url(self.source.url)
        record = await self.article_record(response, {"title": self.source.label}, url=url)
        if record is not None:
            self.found()
            yield record
