"""Source kinds: one spider class per kind, registered here by the ``kind`` name used in sources.yaml.

Adding a kind: a config model in config.sources.SOURCE_KINDS and a spider here (a test checks both).
"""

from __future__ import annotations

from crawler.spiders.base import CrawledItem, SourceSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.listing import ListingSpider
from crawler.spiders.page import PageSpider
from crawler.spiders.sitemap import SitemapSpider
from crawler.spiders.telegram import TelegramSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    spider.kind: spider for spider in (FeedSpider, SitemapSpider, ListingSpider, TelegramSpider, PageSpider)
}

__all__ = ["SPIDERS", "CrawledItem", "SourceSpider"]
