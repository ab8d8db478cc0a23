"""Edits and deletions: items that matched a rule are fetched again until their re-check window ends.

A changed text is stored as a new version (storage.repository.store_item keeps the diff); a page that
answers 404/410/451, or redirects to the site's home page, is marked removed with the response kept as
evidence. A failed or empty fetch (5xx, 429, timeout, a page we cannot extract) is never a removal
(docs PITFALLS section 5): the item is simply checked again next time.

It runs as its own crawl kind in the child process (``python -m crawler.child --recheck``); the parent
side is crawler.runner.recheck_due.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from lxml import html
from scrapy.http import Response
from twisted.python.failure import Failure

from config.sources import SourceBase, TelegramSource
from crawler.encoding import decode_body
from crawler.spiders.base import CrawledItem, ExtractingSpider, header_charset, snapshot_of
from crawler.spiders.telegram import page_url as telegram_page_url
from crawler.spiders.telegram import parse_posts, post_title
from storage.crawl_repo import RecheckTarget
from storage.records import SnapshotRecord

REDIRECTS = frozenset({301, 302, 303, 307, 308})
GONE = {404: "HTTP 404 Not Found", 410: "HTTP 410 Gone", 451: "HTTP 451 Unavailable For Legal Reasons"}
MAX_HOPS = 5
_INDEX_PAGE = re.compile(r"/(index|default|home)\.(html?|php|aspx?)$", re.IGNORECASE)
_LANGUAGE_ROOT = re.compile(r"^/[a-z]{2}(-[a-z]{2})?$", re.IGNORECASE)


@dataclass(frozen=True)
class RemovalRecord:
    """An item whose page is gone, with the response that shows it."""

    item_id: int
    reason: str
    evidence: SnapshotRecord | None


@dataclass(frozen=True)
class CheckedRecord:
    """An item was looked at (outcome: present|removed|inconclusive), so it waits for the next window."""

    item_id: int
    outcome: str


@dataclass(frozen=True)
class Verdict:
    outcome: str  # present|removed|follow|inconclusive
    reason: str
    location: str | None = None


def is_home_page(url: str, source_url: str | None = None) -> bool:
    """The site root, a language root (/fa, /en/), an index page, or the source's own listing page."""
    parts = urlsplit(url)
    path = _INDEX_PAGE.sub("", parts.path).rstrip("/")
    if path == "" or _LANGUAGE_ROOT.match(path):
        return True
    if source_url:
        source = urlsplit(source_url)
        return (parts.hostname, path) == (source.hostname, source.path.rstrip("/"))
    return False


def judge(status: int, *, url: str, location: str | None, source_url: str | None) -> Verdict:
    """What one response says about an item that was there before."""
    if status in GONE:
        return Verdict("removed", GONE[status])
    if status in REDIRECTS:
        if not location:
            return Verdict("inconclusive", f"HTTP {status} without a Location")
        target = urljoin(url, location)
        if is_home_page(target, source_url) and not is_home_page(url, source_url):
            return Verdict("removed", f"redirected to the home page ({target})")
        return Verdict("follow", f"moved to {target}", target)
    if status == 200:
        return Verdict("present", "HTTP 200")
    return Verdict("inconclusive", f"HTTP {status}")


def telegram_url_for(target: RecheckTarget, source: SourceBase | None) -> str | None:
    """The channel page that shows the post if it still exists: ``?before=<id + 1>``."""
    if not target.external_id or "/" not in target.external_id:
        return None
    channel, _, number = target.external_id.partition("/")
    if not number.isdigit():
        return None
    base = source.url if isinstance(source, TelegramSource) else f"https://t.me/s/{channel}"
    return telegram_page_url(base, int(number) + 1)


class RecheckSpider(ExtractingSpider):
    """Fetches each target once (following real moves, not redirects to the home page) and judges it."""

    name = "recheck"

    def __init__(self, *args: Any, targets: Sequence[RecheckTarget],
                 sources: Mapping[str, SourceBase], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = list(targets)
        self.sources = dict(sources)

    def source_for(self, target: RecheckTarget) -> SourceBase:
        source = self.sources.get(target.source_id)
        if source is not None:
            return source
        # A source since removed from the config: re-check with default extraction.
        return SourceBase.model_validate({"id": target.source_id, "url": target.url})

    async def start(self) -> Any:
        for target in self.targets:
            url = target.url
            if target.source_kind == "telegram":
                url = telegram_url_for(target, self.sources.get(target.source_id)) or ""
                if not url:
                    yield CheckedRecord(target.item_id, "inconclusive")
                    continue
            yield self.check_request(target, url, hops=0)

    def check_request(self, target: RecheckTarget, url: str, *, hops: int) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse_check, errback=self.check_failed, dont_filter=True,
            cb_kwargs={"target": target, "hops": hops},
            meta={"dont_redirect": True, "handle_httpstatus_all": True, "target": target},
        )

    def check_failed(self, failure: Failure) -> CheckedRecord:
        target: RecheckTarget = failure.request.meta["target"]  # type: ignore[attr-defined]
        self.stat("recheck_fetch_failed")
        self.logger.warning("re-check of item %s failed (not a removal): %s", target.item_id,
                            failure.getErrorMessage())
        return CheckedRecord(target.item_id, "inconclusive")

    async def parse_check(self, response: Response, target: RecheckTarget, hops: int) -> AsyncIterator[Any]:
        source = self.source_for(target)
        location = response.headers.get(b"Location")
        verdict = judge(response.status, url=response.url, source_url=source.url,
                        location=location.decode("latin-1") if location else None)
        if verdict.outcome == "follow" and verdict.location and hops < MAX_HOPS:
            yield self.check_request(target, verdict.location, hops=hops + 1)
            return
        if verdict.outcome == "removed" and target.source_kind != "telegram":
            self.logger.info("item %s removed: %s", target.item_id, verdict.reason)
            yield RemovalRecord(target.item_id, verdict.reason, snapshot_of(response))
            yield CheckedRecord(target.item_id, "removed")
            return
        if verdict.outcome != "present":
            self.logger.info("re-check of item %s inconclusive: %s", target.item_id, verdict.reason)
            yield CheckedRecord(target.item_id, "inconclusive")
            return
        if target.source_kind == "telegram":
            for record in self.telegram_verdict(response, target, source):
                yield record
            return
        record = await self.extract_record(response, source, {}, url=target.url)
        if record is not None:
            yield record
        yield CheckedRecord(target.item_id, "present" if record is not None else "inconclusive")

    def telegram_verdict(self, response: Response, target: RecheckTarget, source: SourceBase) -> list[Any]:
        """A post is gone when the page around it shows older posts but not it."""
        text = decode_body(response.body, header_charset=header_charset(response)).text
        posts = list(parse_posts(html.document_fromstring(text))) if text.strip() else []
        channel, _, number = (target.external_id or "").partition("/")
        wanted = int(number) if number.isdigit() else -1
        for post in posts:
            if post.post_id == wanted and post.channel.lower() == channel.lower():
                if not post.text.strip():
                    return [CheckedRecord(target.item_id, "inconclusive")]
                record = CrawledItem(
                    source_id=target.source_id, url=target.url, external_id=target.external_id,
                    title=post_title(post), text=post.text, fetched_at=snapshot_of(response).fetched_at,
                    lang=source.lang, published_at=post.published_at, snapshot=snapshot_of(response),
                    details={"links": post.links, "edited": post.edited},
                )
                return [record, CheckedRecord(target.item_id, "present")]
        if any(post.post_id < wanted for post in posts):
            reason = f"post {target.external_id} deleted from the channel"
            return [RemovalRecord(target.item_id, reason, snapshot_of(response)),
                    CheckedRecord(target.item_id, "removed")]
        return [CheckedRecord(target.item_id, "inconclusive")]
