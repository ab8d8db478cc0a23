"""Pure extraction of an article's text and metadata from one HTML page (no I/O, no Scrapy).

The body text comes from trafilatura with TRAFILATURA_OPTIONS, chosen on the saved fixture pages
(docs PERFORMANCE "Extraction"): comments off, favor_precision on, fallbacks kept (fast=True lost
a whole Korean article). Title, date, author, canonical URL and language come from the page's
metadata (Open Graph, JSON-LD, <time>, <link rel=canonical>, <html lang>) with visible-text
fallbacks; a per-source CSS selector beats both for its field.

trafilatura deletes ZWNJ (U+200C), turning ملت‌ها into ملتها; we swap it for a printable
placeholder before extraction and back afterwards, so the text keeps the published spelling.

The metadata is read by ``crawler.metadata``; ``canonicalize_url`` (``crawler.urls``), ``guess_language``
(``crawler.language``) and ``block_text`` are re-exported here, where spiders import extraction from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import trafilatura
from cssselect import HTMLTranslator, SelectorError
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from crawler.dates import find_date, parse_date
from crawler.language import guess_language
from crawler.metadata import PageMetadata, block_text
from crawler.urls import canonicalize_url

__all__ = [
    "TRAFILATURA_OPTIONS",
    "Extracted",
    "ExtractionOverrides",
    "canonicalize_url",
    "block_text",
    "extract_article",
    "guess_language",
]

log = logging.getLogger(__name__)

TRAFILATURA_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {"include_comments": False, "favor_precision": True, "include_tables": True, "deduplicate": False}
)
ZWNJ = "\u200c"
# Printable (trafilatura keeps it), a letter (words stay whole), unused in Persian/English news.
_ZWNJ_PLACEHOLDERS = ("\ua66e", "\ua66d", "\ua698")
# Case spelled out instead of re.IGNORECASE: a literal "&" prefix keeps the scan fast on 100 KB pages.
_ZWNJ_ENTITY = re.compile(r"&(?:[zZ][wW][nN][jJ]|#8204|#[xX]0*200[cC]);")
MAX_FIELD_CHARS = 500


@lru_cache(maxsize=256)
def _compiled_selector(selector: str) -> etree.XPath:
    return etree.XPath(HTMLTranslator().css_to_xpath(selector))


@dataclass(frozen=True)
class ExtractionOverrides:
    """Per-source CSS selectors; a selector that matches wins over automatic extraction.

    Raises ValueError on construction when a selector is not valid CSS, so a bad source
    configuration fails when loaded rather than silently on every page.
    """

    title: str | None = None
    text: str | None = None
    date: str | None = None
    author: str | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            selector = getattr(self, field.name)
            if selector is None:
                continue
            try:
                _compiled_selector(selector)
            except (SelectorError, etree.XPathSyntaxError) as err:
                raise ValueError(f"invalid CSS selector for {field.name}: {selector!r} ({err})") from err


@dataclass(frozen=True)
class Extracted:
    """What the crawler stores for one page; `text` is empty when nothing could be extracted."""

    title: str
    text: str
    author: str | None
    published_at: datetime | None
    lang: str | None
    canonical_url: str | None


EMPTY = Extracted("", "", None, None, None, None)


def extract_article(html: str, url: str, *, overrides: ExtractionOverrides | None = None) -> Extracted:
    """Extract text and metadata from a decoded HTML page. Never raises on hostile HTML."""
    overrides = overrides or ExtractionOverrides()
    placeholder = _placeholder_for(html)

    def restore(value: str) -> str:
        return value.replace(placeholder, ZWNJ) if placeholder else value

    protected = _ZWNJ_ENTITY.sub(placeholder, html.replace(ZWNJ, placeholder)) if placeholder else html
    try:
        tree = load_html(protected) if protected.strip() else None
        if tree is None:
            return EMPTY
        text = restore(_selected_text(tree, overrides.text) or _trafilatura_text(tree, url))
        metadata = PageMetadata(tree)
        title = restore(_selected_text(tree, overrides.title) or metadata.title())[:MAX_FIELD_CHARS]
        author = restore(_selected_text(tree, overrides.author) or metadata.author() or "")[:MAX_FIELD_CHARS]
        published_at = _selected_date(tree, overrides.date) or metadata.published_at()
        return Extracted(
            title=title,
            text=text,
            author=author or None,
            published_at=published_at,
            lang=metadata.language(text or title),
            canonical_url=metadata.canonical_url(url),
        )
    except Exception:  # a hostile page must cost us that page, never the crawl
        log.warning("extraction failed for %s", url, exc_info=True)
        return EMPTY


def _placeholder_for(html: str) -> str | None:
    if ZWNJ not in html and not _ZWNJ_ENTITY.search(html):
        return None
    return next((p for p in _ZWNJ_PLACEHOLDERS if p not in html), None)


def _trafilatura_text(tree: HtmlElement, url: str) -> str:
    """trafilatura's text; "" when it fails, so the page's metadata is still stored."""
    try:
        return trafilatura.extract(tree, url=url, **TRAFILATURA_OPTIONS) or ""
    except Exception:  # trafilatura only catches ValueError/TypeError itself
        log.warning("trafilatura failed on %s", url, exc_info=True)
        return ""


def _select(tree: HtmlElement, selector: str | None) -> list[HtmlElement]:
    if not selector:
        return []
    found = _compiled_selector(selector)(tree)
    return [node for node in found if isinstance(node, HtmlElement)] if isinstance(found, list) else []


def _selected_text(tree: HtmlElement, selector: str | None) -> str:
    return block_text(_select(tree, selector))


def _selected_date(tree: HtmlElement, selector: str | None) -> datetime | None:
    for node in _select(tree, selector):
        for value in (node.get("datetime"), node.get("content"), block_text([node])):
            if value and (found := parse_date(value) or find_date(value)):
                return found
    return None


