"""The base of every source spider: one spider instance crawls one configured source.

Index pages (feeds, listings, sitemaps, channel pages, watched pages) are fetched with conditional GET
(crawler.middlewares.ConditionalGetMiddleware); article pages are fetched once (``known_urls``), and
their decoding and extraction run in worker processes (crawler.spiders.offload).

Stats every spider keeps (the parent reads them from the child's last line):
``tocsin/items_found`` candidate items seen on the source, known or not (source health: 0 means a broken
selector or dead feed); ``tocsin/not_modified`` index pages answered 304; ``tocsin/skipped_*`` why a
page gave no item; ``tocsin/index_unreadable`` an index page that could not be parsed;
``tocsin/articles_requested`` and ``tocsin/article_failures/<reason>`` the articles tried and those lost,
by reason (source health: a run that lost articles is degraded); ``tocsin/index_error`` why an index page
failed, one line naming the host (crawler.failures).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import scrapy
from lxml import etree, html
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from config.sources import SourceBase
from crawler.encoding import decode_body
from crawler.extract import ExtractionOverrides, block_text, canonicalize_url
from crawler.failures import describe_failure
from crawler.spiders.offload import PageJob, PageProcessor, PageResult, auto_workers
from storage.records import ItemRecord, SnapshotRecord

# How a skipped article counts among the source's article failures (its precise reason is logged).
SKIP_REASONS = {"skipped_binary": "not a text page (binary or unreadable body)",
                "skipped_empty": "no article text could be extracted"}


@dataclass(frozen=True)
class CrawledItem(ItemRecord):
    """An ItemRecord with kind-specific facts kept in ``Item.details`` (links, forwarded-from, encoding)."""

    details: dict[str, Any] = field(default_factory=dict)


def response_headers(response: Response) -> dict[str, str]:
    """HTTP headers as a plain dict for evidence; repeated headers are joined as HTTP allows."""
    joined: dict[str, str] = {}
    for key, values in response.headers.items():
        if values:
            name = key.decode("latin-1")
            separator = "\n" if name.lower() == "set-cookie" else ", "
            joined[name] = separator.join(v.decode("latin-1") for v in values)
    return joined


def header_charset(response: Response) -> str | None:
    content_type = response.headers.get(b"Content-Type") or b""
    for part in content_type.decode("latin-1").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None


def snapshot_of(response: Response) -> SnapshotRecord:
    """The raw response as evidence: requested URL (before redirects), final URL, headers, body."""
    redirects = response.meta.get("redirect_urls") if response.request is not None else None
    requested = redirects[0] if redirects else (response.request.url if response.request else response.url)
    return SnapshotRecord(
        url=requested,
        final_url=response.url,
        status=response.status,
        headers=response_headers(response),
        body=response.body,
        fetched_at=datetime.now(UTC),
    )


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment (feed summaries), one line per block."""
    if "<" not in fragment:
        return fragment.strip()
    try:
        root = html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return fragment.strip()
    return block_text([root])


def trusted_canonical(canonical: str | None, fetched: str) -> str | None:
    """A page's canonical URL, unless it points off-site or at a site root (broken CMS templates
    do both, and would fold every article into one item)."""
    if not canonical:
        return None
    target, actual = urlsplit(canonical), urlsplit(fetched)
    if target.hostname != actual.hostname or target.path in ("", "/"):
        return None
    return canonical


class ExtractingSpider(scrapy.Spider):
    """Fetches article pages and turns them into items, extraction running in worker processes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages = PageProcessor(0)
        self._overrides: dict[str, ExtractionOverrides] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        workers = crawler.settings.getint("TOCSIN_EXTRACTION_WORKERS", -1)
        spider.pages = PageProcessor(auto_workers() if workers < 0 else workers)
        crawler.signals.connect(spider._close_pool, signal=signals.spider_closed)
        return spider

    def _close_pool(self) -> None:
        self.pages.close()

    def stat(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"tocsin/{key}", count)

    def skip(self, url: str, reason: str, key: str) -> None:
        self.stat(key)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("tocsin/last_skip_reason", f"{url}: {reason}")
        self.stat(f"article_failures/{SKIP_REASONS.get(key, reason)}")
        self.logger.warning("skipped %s: %s", url, reason)

    def describe(self, failure: Failure) -> str:
        """The failure as one line naming the host and the cause (crawler.failures)."""
        assert self.crawler.settings is not None
        return describe_failure(failure, max_size=self.crawler.settings.getint("DOWNLOAD_MAXSIZE"),
                                timeout=self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT"))

    def overrides_for(self, source: SourceBase) -> ExtractionOverrides:
        if source.id not in self._overrides:
            self._overrides[source.id] = ExtractionOverrides(**source.selectors.model_dump())
        return self._overrides[source.id]

    async def page_result(self, response: Response, source: SourceBase) -> PageResult:
        job = PageJob(url=response.url, body=response.body, content_type=content_type(response),
                      header_charset=header_charset(response), encoding_override=source.encoding,
                      overrides=self.overrides_for(source))
        return await self.pages.process(job)

    async def extract_record(self, response: Response, source: SourceBase, fallbacks: dict[str, Any], *,
                             url: str | None = None) -> CrawledItem | None:
        """Extract an article page (fallback values fill fields the page lacks); None when skipped."""
        result = await self.page_result(response, source)
        if result.skip_reason or result.extracted is None:
            self.skip(response.url, result.skip_reason or "no extraction", "skipped_binary")
            return None
        extracted = result.extracted
        text = extracted.text or html_to_text(str(fallbacks.get("text") or ""))
        if not text.strip():
            self.skip(response.url, "no article text extracted", "skipped_empty")
            return None
        canonical = trusted_canonical(extracted.canonical_url, response.url)
        details: dict[str, Any] = {"encoding": result.encoding}
        if result.decode_note:
            details["decode_note"] = result.decode_note
        flags: tuple[str, ...] = ()
        if result.suspicious:
            self.stat("suspicious_encoding")
            flags = ("suspicious_encoding",)
        return CrawledItem(
            source_id=source.id,
            url=url or canonicalize_url(canonical or fallbacks.get("url") or response.url),
            title=extracted.title or str(fallbacks.get("title") or ""),
            text=text,
            fetched_at=datetime.now(UTC),
            lang=extracted.lang or source.lang,
            author=extracted.author,
            published_at=extracted.published_at or fallbacks.get("published_at"),
            snapshot=snapshot_of(response),
            flags=flags,
            details=details,
        )


class SourceSpider(ExtractingSpider):
    """Crawls one source given as a validated config model (``source=``)."""

    kind: ClassVar[str]

    def __init__(self, *args: Any, source: SourceBase, known_urls: frozenset[str] = frozenset(),
                 max_items: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, name=f"{self.kind}:{source.id}", **kwargs)
        self.source = source
        self.known_urls = set(known_urls)
        self.max_items = source.max_items or max_items
        self.items_requested = 0
        self.incomplete = False  # set when the crawl stopped early; validators are then not saved
        if source.download_delay is not None:
            self.download_delay = source.download_delay.total_seconds()

    # --- index pages ----------------------------------------------------------------------------

    def index_request(self, url: str, callback: Any, **cb_kwargs: Any) -> scrapy.Request:
        """A request for a page that lists items: conditional, never deduplicated away."""
        return scrapy.Request(
            url, callback=callback, cb_kwargs=cb_kwargs, errback=self.index_failed, dont_filter=True,
            meta={"tocsin_conditional": True, "handle_httpstatus_list": [304]},
        )

    def not_modified(self, response: Response) -> bool:
        """True for a 304: the index is as it was, so its items were already seen (a healthy run)."""
        if response.status != 304:
            return False
        self.logger.info("not modified since the last crawl: %s", response.url)
        return True

    def index_failed(self, failure: Failure) -> None:
        self.incomplete = True
        self.stat("index_errors")
        if isinstance(failure.value, HttpError):
            self.stat(f"index_http_status/{failure.value.response.status}")
        reason = self.describe(failure)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("tocsin/index_error", reason)
        url = getattr(getattr(failure, "request", None), "url", self.source.url)
        self.logger.error("index page failed: %s: %s", url, reason)

    def found(self, count: int = 1) -> None:
        self.stat("items_found", count)

    def decoded_text(self, response: Response) -> str:
        """A page decoded the careful way (labels that lie are overruled; per-source override)."""
        return decode_body(response.body, header_charset=header_charset(response),
                           override=self.source.encoding).text

    # --- article pages --------------------------------------------------------------------------

    def wants(self, url: str) -> bool:
        """Incremental crawling: an article already stored is not fetched again."""
        if url in self.known_urls:
            self.stat("skipped_known")
            return False
        if self.max_items is not None and self.items_requested >= self.max_items:
            self.incomplete = True
            self.stat("skipped_over_limit")
            return False
        self.items_requested += 1
        self.stat("articles_requested")
        self.known_urls.add(url)
        return True

    def article_request(self, url: str, fallbacks: dict[str, Any]) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_article, errback=self.article_failed,
                              cb_kwargs={"fallbacks": fallbacks})

    def article_failed(self, failure: Failure) -> None:
        self.incomplete = True
        self.stat("article_errors")
        reason = self.describe(failure)
        self.stat(f"article_failures/{reason}")
        url = getattr(getattr(failure, "request", None), "url", "")
        self.logger.warning("article fetch failed: %s: %s", url, reason)

    async def parse_article(self, response: Response, fallbacks: dict[str, Any]) -> AsyncIterator[ItemRecord]:
        record = await self.article_record(response, fallbacks)
        if record is not None:
            yield record

    async def article_record(self, response: Response, fallbacks: dict[str, Any], *,
                             url: str | None = None) -> CrawledItem | None:
        return await self.extract_record(response, self.source, fallbacks, url=url)

    def absolute_links(self, response: Response, hrefs: Iterator[str]) -> Iterator[str]:
        for href in hrefs:
            href = href.strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
                continue
            url = canonicalize_url(response.urljoin(href))
            if url.startswith(("http://", "https://")):
                yield url
