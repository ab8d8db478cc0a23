"""Public Telegram channel previews (``https://t.me/s/<channel>``): each post is an item.

Structure and pitfalls from docs PITFALLS section 7 (after snscrape): a post is
``div.tgme_widget_message[data-post="chan/ID"]`` (the id is on the inner div, not ``_wrap``); the next
page is ``?before=ID`` from ``a.tme_messages_more[data-before]``. Paging stops at the newest post already
stored, when ``before`` fails to strictly decrease (loops around deleted posts), or after ``max_pages``.
A channel without a public preview redirects away from ``/s/``: that run fails as "not public".
Every post on a fetched page is stored (an unchanged one is a no-op, an edited one, same id, becomes a
new version); media-only posts have no text to watch and are counted, not stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import html
from lxml.html import HtmlElement
from scrapy.http import Response

from config.sources import TelegramSource
from crawler.dates import parse_date
from crawler.encoding import decode_body
from crawler.extract import block_text, guess_language
from crawler.spiders.base import CrawledItem, SourceSpider, header_charset, snapshot_of

POST_URL = re.compile(r"^https?://t\.me/(?:s/)?([A-Za-z0-9_]+)/(\d+)$")
TITLE_CHARS = 140


@dataclass(frozen=True)
class TelegramPost:
    channel: str
    post_id: int
    text: str
    published_at: datetime | None
    links: list[str] = field(default_factory=list)
    forwarded_from: str | None = None
    forwarded_from_url: str | None = None
    views: str | None = None
    edited: bool = False

    @property
    def url(self) -> str:
        return f"https://t.me/{self.channel}/{self.post_id}"


def _has_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_POSTS = f"//div[{_has_class('tgme_widget_message')}][@data-post]"
_TEXT = (f".//div[{_has_class('tgme_widget_message_text')}]"
         f"[not(ancestor::*[{_has_class('tgme_widget_message_reply')}])]")
_DATE = f".//a[{_has_class('tgme_widget_message_date')}]//time[@datetime]"
_FORWARDED = f".//*[{_has_class('tgme_widget_message_forwarded_from_name')}]"
_VIEWS = f".//*[{_has_class('tgme_widget_message_views')}]"
_META = f".//*[{_has_class('tgme_widget_message_meta')}]"
_MORE = f"//a[{_has_class('tme_messages_more')}][@data-before]"


def _text_of(node: HtmlElement) -> str:
    return " ".join(node.text_content().split())


def parse_posts(root: HtmlElement) -> Iterator[TelegramPost]:
    """Every post on a channel preview page, oldest first as Telegram prints them."""
    for node in root.xpath(_POSTS):
        channel, _, number = (node.get("data-post") or "").partition("/")
        if not channel or not number.isdigit():
            continue
        texts = node.xpath(_TEXT)
        text = block_text(texts[-1:]) if texts else ""
        links = list(dict.fromkeys(
            href for t in texts[-1:] for href in t.xpath(".//a/@href") if href.startswith(("http://", "https://"))
        ))
        dates = node.xpath(_DATE)
        forwarded = node.xpath(_FORWARDED)
        views = node.xpath(_VIEWS)
        meta = node.xpath(_META)
        yield TelegramPost(
            channel=channel,
            post_id=int(number),
            text=text,
            published_at=parse_date(dates[0].get("datetime")) if dates else None,
            links=links,
            forwarded_from=_text_of(forwarded[0]) if forwarded else None,
            forwarded_from_url=forwarded[0].get("href") if forwarded else None,
            views=_text_of(views[0]) if views else None,
            edited=bool(meta) and "edited" in _text_of(meta[0]).lower(),
        )


def next_before(root: HtmlElement) -> int | None:
    found = root.xpath(_MORE)
    value = found[0].get("data-before") if found else None
    return int(value) if value and value.isdigit() else None


def page_url(source_url: str, before: int) -> str:
    """The source URL with ``before=ID`` (t.me's own paging parameter)."""
    parts = urlsplit(source_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "before"] + [("before", str(before))]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def newest_known_post(urls: Iterable[str]) -> dict[str, int]:
    newest: dict[str, int] = {}
    for url in urls:
        if found := POST_URL.match(url):
            channel, number = found[1].lower(), int(found[2])
            newest[channel] = max(newest.get(channel, 0), number)
    return newest


def post_title(post: TelegramPost) -> str:
    first = next((line for line in post.text.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"


class TelegramSpider(SourceSpider):
    kind = "telegram"
    source: TelegramSource

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.newest_known = newest_known_post(self.known_urls)
        self.lowest_before: int | None = None

    async def start(self) -> Any:
        yield self.index_request(self.source.url, self.parse_channel, page_number=1)

    def redirected_away(self, response: Response) -> bool:
        return bool(response.meta.get("redirect_urls")) and (
            urlsplit(response.url).path != urlsplit(self.source.url).path
        )

    def parse_channel(self, response: Response, page_number: int) -> Iterator[Any]:
        if self.not_modified(response):
            return
        if self.redirected_away(response):
            self.stat("not_public")
            self.logger.error("channel has no public preview (redirected to %s)", response.url)
            return
        text = decode_body(response.body, header_charset=header_charset(response)).text
        root = html.document_fromstring(text) if text.strip() else None
        posts = list(parse_posts(root)) if root is not None else []
        self.found(len(posts))
        for post in posts:
            yield from self._item(post, response)
        if root is None or not posts:
            return
        if page_number >= self.source.max_pages:
            return
        oldest = min(p.post_id for p in posts)
        if oldest <= self.newest_known.get(posts[0].channel.lower(), 0):
            return  # reached what the last crawl stored
        before = next_before(root)
        if before is None or (self.lowest_before is not None and before >= self.lowest_before):
            if before is not None:
                self.stat("telegram_paging_loop")
                self.logger.warning("before=%s does not decrease; stopped paging", before)
            return
        self.lowest_before = before
        yield self.index_request(page_url(self.source.url, before), self.parse_channel,
                                 page_number=page_number + 1)

    def _item(self, post: TelegramPost, response: Response) -> Iterator[CrawledItem]:
        if not post.text.strip():
            self.stat("telegram_media_only")
            return
        details: dict[str, Any] = {"channel": post.channel, "post_id": post.post_id, "links": post.links}
        if post.forwarded_from:
            details["forwarded_from"] = post.forwarded_from
            details["forwarded_from_url"] = post.forwarded_from_url
        if post.views:
            details["views"] = post.views
        if post.edited:
            details["edited"] = True
        yield CrawledItem(
            source_id=self.source.id,
            url=post.url,
            external_id=f"{post.channel}/{post.post_id}",
            title=post_title(post),
            text=post.text,
            fetched_at=datetime.now(UTC),
            lang=self.source.lang or guess_language(post.text),  # channels often mix Persian and English
            published_at=post.published_at,
            snapshot=snapshot_of(response),
            details=details,
        )
