"""Source definitions (``sources.yaml``): one schema per source kind, discriminated on ``kind``.

Adding a kind means adding a model here, registering it in ``SOURCE_KINDS`` and a spider in
``crawler.spiders.SPIDERS``; a test checks the two registries agree.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator

from config.schema import Strict
from config.types import Duration, Interval

SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://", "socks4://")


class Selectors(Strict):
    """CSS selectors that override the extractor for one field, per source."""

    title: str | None = None
    text: str | None = None
    date: str | None = None
    author: str | None = None


class SourceSchedule(Strict):
    interval: Interval | None = None
    cron: str | None = Field(None, description="crontab expression in UTC, e.g. '*/15 * * * *'")
    jitter: Duration | None = None
    timeout: Interval | None = None


class SourceBase(Strict):
    kind: str = Field("", description="the source kind; each subclass narrows it to one literal")
    id: str = Field(pattern=SOURCE_ID_PATTERN)
    name: str | None = None
    url: str
    tags: list[str] = []
    lang: str | None = Field(None, description="expected language, e.g. 'fa' or 'en'")
    enabled: bool = True
    schedule: SourceSchedule = SourceSchedule()
    encoding: str | None = Field(None, description="override a mislabeled charset, e.g. 'windows-1256'")
    proxy: str | None = Field(None, description="http://, https:// or socks5:// proxy for this source")
    obey_robots: bool | None = None
    max_items: int | None = Field(None, ge=1)
    selectors: Selectors = Selectors()
    note: str | None = Field(None, description="free text for maintainers, e.g. why it is disabled")
    download_delay: Duration | None = Field(None, description="minimum wait between requests to this site")

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(PROXY_SCHEMES):
            raise ValueError(f"proxy must start with one of {', '.join(PROXY_SCHEMES)}, got {value!r}")
        return value

    @property
    def label(self) -> str:
        return self.name or self.id


def _compiles(pattern: str | None) -> str | None:
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
    return pattern


class FeedSource(SourceBase):
    """An RSS or Atom feed; each entry's link is followed to the article page."""

    kind: Literal["feed"]
    follow_links: bool = True


class SitemapSource(SourceBase):
    """A news sitemap or sitemap index, bounded by lastmod."""

    kind: Literal["sitemap"]
    max_age: Duration = timedelta(days=3)
    url_pattern: str | None = Field(None, description="only follow article URLs matching this regex")
    max_sitemaps: int = Field(20, ge=1, le=500, description="child sitemaps of an index fetched at most")

    @field_validator("url_pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        return _compiles(value)


class ListingSource(SourceBase):
    """An HTML index page: a selector picks article links, optionally paginated."""

    kind: Literal["listing"]
    link_selector: str = Field(description="CSS (or XPath starting with '/' or '(') selecting article links")
    next_selector: str | None = Field(None, description="CSS or XPath selecting the next-page link")
    max_pages: int = Field(1, ge=1, le=50)
    url_pattern: str | None = Field(None, description="only follow article URLs matching this regex")

    @field_validator("url_pattern")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        return _compiles(value)


class TelegramSource(SourceBase):
    """A public Telegram channel preview (``https://t.me/s/<channel>``): each post is an item."""

    kind: Literal["telegram"]
    max_pages: int = Field(3, ge=1, le=50)


class PageSource(SourceBase):
    """One page watched for changes: each new version of its text is an item.

    ``selectors.text`` narrows the watched region (e.g. a statement list) so a changing sidebar or
    a clock on the page is not an edit.
    """

    kind: Literal["page"]


SourceConfig = Annotated[
    FeedSource | SitemapSource | ListingSource | TelegramSource | PageSource,
    Field(discriminator="kind"),
]

SOURCE_KINDS: dict[str, type[SourceBase]] = {
    "feed": FeedSource,
    "sitemap": SitemapSource,
    "listing": ListingSource,
    "telegram": TelegramSource,
    "page": PageSource,
}


class SourcesFile(Strict):
    sources: list[SourceConfig] = []
