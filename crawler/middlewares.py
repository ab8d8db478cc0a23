"""Downloader middlewares: spaced-out retries honouring Retry-After, conditional GET, per-source proxy.

Scrapy retries at once and ignores Retry-After (scrapy #3849, docs PITFALLS section 8), which turns a
429 into three more 429s within milliseconds. ``BackoffRetryMiddleware`` waits before each retry:
exponential backoff with jitter, and at least Retry-After on 429/503 (giving up when the server asks
for longer than ``TOCSIN_RETRY_AFTER_MAX``, rather than holding the crawl hostage).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet import reactor
from twisted.internet.task import deferLater

from storage.crawl_repo import Validators, http_validators, save_http_validators
from storage.db import Database

log = logging.getLogger(__name__)
NOT_BEFORE = "tocsin_not_before"


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or an HTTP date); None if absent/invalid."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _sleep(seconds: float) -> None:
    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))  # type: ignore[arg-type]


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (same settings), but each retry waits before it is sent."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("TOCSIN_RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("TOCSIN_RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("TOCSIN_RETRY_AFTER_MAX", 300.0)

    def backoff(self, attempt: int) -> float:
        delay: float = min(self.backoff_max, self.backoff_base * 2 ** max(0, attempt - 1))
        return float(delay * random.uniform(1.0, 1.25))

    def _delayed(self, retry: Request, at_least: float = 0.0) -> Request:
        delay = max(at_least, self.backoff(int(retry.meta.get("retry_times", 1))))
        retry.meta[NOT_BEFORE] = time.monotonic() + delay
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("tocsin/retry_wait_ms", int(delay * 1000))
        return retry

    async def process_request(self, request: Request) -> None:
        not_before = request.meta.get(NOT_BEFORE)
        if not_before is not None and (wait := not_before - time.monotonic()) > 0:
            await _sleep(wait)

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        asked = None
        if response.status in (429, 503):
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        if asked is not None and asked > self.retry_after_max:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("tocsin/retry_after_too_long")
            log.warning("%s asks to retry after %.0fs (over %.0fs): giving up", request.url, asked,
                        self.retry_after_max)
            return response
        retry = self._retry(request, response_status_message(response.status))
        return self._delayed(retry, asked or 0.0) if retry is not None else response

    def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry", False):
            retry = self._retry(request, exception)
            return self._delayed(retry) if retry is not None else None
        return None


class ConditionalGetMiddleware:
    """ETag / Last-Modified for index pages (requests with ``meta['tocsin_conditional']``).

    New validators are saved only when the crawl finished completely (no failed article, no item cap
    hit, see SourceSpider.incomplete): a 304 next time must never hide an article we failed to fetch.
    """

    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        self.database = Database(database_url)
        self.pending: dict[str, Validators] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        url = crawler.settings.get("TOCSIN_DATABASE_URL")
        if not url or not crawler.settings.getbool("TOCSIN_CONDITIONAL_GET", True):
            raise NotConfigured("conditional GET needs TOCSIN_DATABASE_URL")
        middleware = cls(crawler, url)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if not request.meta.get("tocsin_conditional"):
            return
        with self.database.read() as session:
            validators = http_validators(session, request.url)
        if validators is None:
            return
        if validators.etag:
            request.headers.setdefault(b"If-None-Match", validators.etag.encode("latin-1"))
        if validators.last_modified:
            request.headers.setdefault(b"If-Modified-Since", validators.last_modified.encode("latin-1"))

    def process_response(self, request: Request, response: Response) -> Response:
        if not request.meta.get("tocsin_conditional"):
            return response
        assert self.crawler.stats is not None
        if response.status == 304:
            self.crawler.stats.inc_value("tocsin/not_modified")
        elif response.status == 200:
            etag, modified = response.headers.get(b"ETag"), response.headers.get(b"Last-Modified")
            if etag or modified:
                self.pending[request.url] = Validators(
                    etag.decode("latin-1") if etag else None, modified.decode("latin-1") if modified else None
                )
        return response

    def spider_closed(self, spider: Any, reason: str) -> None:
        try:
            if reason == "finished" and not getattr(spider, "incomplete", False) and self.pending:
                with self.database.write() as session:
                    for url, validators in self.pending.items():
                        save_http_validators(session, url, validators)
        finally:
            self.database.dispose()


class SourceProxyMiddleware:
    """Send every request of a source through its configured proxy (``TOCSIN_PROXY``).

    http(s) proxies go through Scrapy's HttpProxyMiddleware; socks5:// needs the httpx download handler
    that crawler.child switches on for such sources (Scrapy's Twisted handler cannot speak SOCKS).
    """

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        proxy = crawler.settings.get("TOCSIN_PROXY")
        if not proxy:
            raise NotConfigured("no proxy for this source")
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)
