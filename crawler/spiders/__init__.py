"""Source kinds: one spider class per kind, registered here by the ``kind`` name used in sources.yaml."""

from __future__ import annotations

from crawler.spiders.base import SourceSpider
from crawler.spiders.feed import FeedSpider

SPIDERS: dict[str, type[SourceSpider]] = {
    FeedSpider.kind: FeedSpider,
}

__all__ = ["SPIDERS", "SourceSpider"]
