"""The base of every source spider: one spider instance crawls one configured source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response

from config.sources import SourceBase
from crawler.extract import ExtractionOverrides, Extracted, canonicalize_url, extract_article
from storage.records import ItemRecord, SnapshotRecord


def response_headers(response: Response) -> dict[str, str]:
    """HTTP headers as a plain dict (first value of each), for evidence."""
    return {
        key.decode("latin-1"): values[0].decode("latin-1")
        for key, values in response.headers.items()
        if values
    }


def snapshot_of(response: Response, *, requested_url: str | None = None) -> SnapshotRecord:
    return SnapshotRecord(
        url=requested_url or response.request.url if response.request else response.url,
        final_url=response.url,
        status=response.status,
        headers=response_headers(response),
        body=response.body,
        fetched_at=datetime.now(UTC),
    )


class SourceSpider(scrapy.Spider):
    """Crawls one source given as a validated config model (``source=``)."""

    kind: ClassVar[str]

    def __init__(self, *args: Any, source: SourceBase, known_urls: frozenset[str] = frozenset(),
                 **kwargs: Any) -> None:
        super().__init__(*args, name=f"{self.kind}:{source.id}", **kwargs)
        self.source = source
        self.known_urls = set(known_urls)
        self.max_items = source.max_items
        self.items_requested = 0
        self.overrides = ExtractionOverrides(**source.selectors.model_dump())

    def wants(self, url: str) -> bool:
        """Incremental crawling: an article already stored is not fetched again."""
        if url in self.known_urls:
            self.crawler.stats.inc_value("tocsin/skipped_known")
            return False
        if self.max_items is not None and self.items_requested >= self.max_items:
            return False
        self.items_requested += 1
        self.known_urls.add(url)
        return True

    def decode(self, response: Response) -> str:
        """Response text, honouring the per-source encoding override."""
        if self.source.encoding:
            return response.body.decode(self.source.encoding, errors="replace")
        return str(response.text)

    def article_record(self, response: Response, **fallbacks: Any) -> Iterator[ItemRecord]:
        """Extract an article page into an ItemRecord (fallback values fill fields the page lacks)."""
        html = self.decode(response)
        extracted: Extracted = extract_article(html, response.url, overrides=self.overrides)
        text = extracted.text or fallbacks.get("text", "")
        if not text.strip():
            self.crawler.stats.inc_value("tocsin/skipped_empty")
            self.logger.warning("no article text extracted from %s", response.url)
            return
        yield ItemRecord(
            source_id=self.source.id,
            url=canonicalize_url(extracted.canonical_url or fallbacks.get("url") or response.url),
            title=extracted.title or fallbacks.get("title", ""),
            text=text,
            fetched_at=datetime.now(UTC),
            lang=extracted.lang or self.source.lang,
            author=extracted.author,
            published_at=extracted.published_at or fallbacks.get("published_at"),
            snapshot=snapshot_of(response),
        )
