"""News sitemaps and sitemap indexes, bounded by lastmod (or the news publication date).

The XML is parsed without entity resolution or network access (no billion-laughs, no XXE), and a
gzipped sitemap is inflated no further than the crawl's maximum response size.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from lxml import etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip

from config.sources import SitemapSource
from crawler.dates import parse_date
from crawler.extract import canonicalize_url
from crawler.spiders.base import SourceSpider

MAX_ENTRIES = 50_000  # the sitemap protocol's own limit per file


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    date: datetime | None
    title: str | None


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def parse_sitemap(body: bytes) -> tuple[str, list[SitemapEntry]]:
    """(root type, entries): 'urlset' or 'sitemapindex'; raises ValueError when it is not a sitemap."""
    parser_events = etree.iterparse(
        BytesIO(body), events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False,
        remove_comments=True, remove_pis=True, recover=True,
    )
    root_type = ""
    entries: list[SitemapEntry] = []
    try:
        for event, element in parser_events:
            name = _local(element.tag)
            if event == "start":
                root_type = root_type or name
                continue
            if name not in ("url", "sitemap"):
                continue
            fields: dict[str, str] = {}
            for child in element.iter():
                child_name = _local(child.tag)
                if child_name in ("loc", "lastmod", "publication_date", "title") and child.text:
                    fields.setdefault(child_name, child.text.strip())
            element.clear()
            if fields.get("loc"):
                when = fields.get("publication_date") or fields.get("lastmod")
                entries.append(SitemapEntry(fields["loc"], parse_date(when) if when else None,
                                            fields.get("title")))
            if len(entries) >= MAX_ENTRIES:
                break
    except etree.XMLSyntaxError as exc:
        if not root_type:
            raise ValueError(f"not XML: {exc}") from exc
    if root_type not in ("urlset", "sitemapindex"):
        raise ValueError(f"not a sitemap (root element {root_type or 'missing'})")
    return root_type, entries


def _newest_first(entries: list[SitemapEntry]) -> list[SitemapEntry]:
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(entries, key=lambda e: e.date or oldest, reverse=True)


class SitemapSpider(SourceSpider):
    """Follows a sitemap index to its recent child sitemaps, then their recent article URLs."""

    kind = "sitemap"
    source: SitemapSource

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cutoff = datetime.now(UTC) - self.source.max_age
        self.pattern = re.compile(self.source.url_pattern) if self.source.url_pattern else None
        self.sitemaps_requested = 0

    async def start(self) -> Any:
        yield self.index_request(self.source.url, self.parse_sitemap)

    def _body(self, response: Response) -> bytes:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            assert self.crawler.settings is not None
            body = gunzip(body, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        return body

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        if self.not_modified(response):
            return
        try:
            kind, entries = parse_sitemap(self._body(response))
        except (ValueError, OSError, EOFError) as exc:
            self.logger.error("not a readable sitemap: %s (%s)", response.url, exc)
            self.stat("index_unreadable")
            return
        recent = [e for e in entries if e.date is None or e.date >= self.cutoff]
        self.stat("skipped_old", len(entries) - len(recent))
        if kind == "sitemapindex":
            yield from self._child_sitemaps(response, recent)
        else:
            yield from self._articles(response, recent)

    def _child_sitemaps(self, response: Response, entries: list[SitemapEntry]) -> Iterator[Any]:
        for entry in _newest_first(entries):
            if self.sitemaps_requested >= self.source.max_sitemaps:
                self.incomplete = True
                break
            self.sitemaps_requested += 1
            yield self.index_request(response.urljoin(entry.loc), self.parse_sitemap)

    def _articles(self, response: Response, entries: list[SitemapEntry]) -> Iterator[Any]:
        for entry in _newest_first(entries):
            url = canonicalize_url(response.urljoin(entry.loc))
            if self.pattern and not self.pattern.search(url):
                continue
            self.found()
            if self.wants(url):
                yield self.article_request(url, {"url": url, "title": entry.title or "",
                                                 "published_at": entry.date})
