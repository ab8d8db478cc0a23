"""An HTML index page: a CSS or XPath selector picks the article links, pagination up to ``max_pages``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from parsel import Selector, SelectorList
from scrapy.http import Response

from config.sources import ListingSource
from crawler.spiders.base import SourceSpider


def select(page: Selector, selector: str) -> SelectorList[Selector]:
    """XPath when the selector starts like one ('/', '(', './'), CSS otherwise."""
    if selector.lstrip().startswith(("/", "(", "./")):
        return page.xpath(selector)
    return page.css(selector)


def selected_links(page: Selector, selector: str) -> dict[str, str]:
    """Links picked by a selector, in page order, with their text: an attribute value (``::attr``,
    ``/@href``), an element's href, or its first descendant link."""
    links: dict[str, str] = {}
    for node in select(page, selector):
        if isinstance(node.root, str):
            href, text = node.root, ""
        else:
            href = node.attrib.get("href") or node.xpath("(.//a/@href)[1]").get() or ""
            text = " ".join(" ".join(node.xpath(".//text()").getall()).split())
        if href.strip():
            links.setdefault(href.strip(), text)
    return links


class ListingSpider(SourceSpider):
    kind = "listing"
    source: ListingSource

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pattern = re.compile(self.source.url_pattern) if self.source.url_pattern else None
        self.pages_seen: set[str] = set()

    async def start(self) -> Any:
        self.pages_seen.add(self.source.url)
        yield self.index_request(self.source.url, self.parse_listing, page_number=1)

    def parse_listing(self, response: Response, page_number: int) -> Iterator[Any]:
        if self.not_modified(response):
            return
        page = Selector(text=self.decoded_text(response), base_url=response.url)
        links = selected_links(page, self.source.link_selector)
        on_page: set[str] = set()
        for href, title in links.items():
            for url in self.absolute_links(response, iter([href])):
                if url == response.url or url in on_page or (self.pattern and not self.pattern.search(url)):
                    continue
                on_page.add(url)
                self.found()
                if self.wants(url):
                    yield self.article_request(url, {"url": url, "title": title})
        if not self.source.next_selector or page_number >= self.source.max_pages:
            return
        for next_url in self.absolute_links(response, iter(selected_links(page, self.source.next_selector))):
            if next_url not in self.pages_seen:
                self.pages_seen.add(next_url)
                yield self.index_request(next_url, self.parse_listing, page_number=page_number + 1)
            break
