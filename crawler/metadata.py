"""A page's metadata (title, date, author, canonical URL, language) from one parsed tree, and its visible
block text. Open Graph, JSON-LD, ``<time>``, ``<link rel=canonical>`` and ``<html lang>`` first, visible-text
fallbacks after; pure, no I/O. ``crawler.extract`` puts it together with the body text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from crawler.dates import find_date, parse_date
from crawler.language import guess_language
from crawler.urls import canonicalize_url

MAX_JSON_LD_CHARS = 500_000
_ARABIC_SCRIPT_LANGUAGES = frozenset({"fa", "ar", "ur", "ps", "ckb", "ku", "sd", "ug"})
_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "liveblogposting",
        "report",
        "socialmediaposting",
    }
)
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "blockquote"}
    | {"section", "article", "header", "footer", "pre", "figcaption", "figure", "dd", "dt", "dl"}
    | {"aside", "main", "nav", "form", "hr"}
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "object", "button"})
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "dcterms.date",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "original-publish-date",
    "originalpublicationdate",
    "rnews:datepublished",
    "cxenseparse:recs:publishtime",
)
_AUTHOR_META = ("author", "article:author", "byl", "dc.creator", "parsely-author", "sailthru.author")
_DATEISH = (
    "(contains(@class,'date') or contains(@class,'time') or contains(@class,'publish')"
    " or contains(@id,'date')) and not(contains(@class,'update')) and not(contains(@class,'modif'))"
)
_XPATH_META = etree.XPath("//meta[@content]")
_XPATH_JSON_LD = etree.XPath("//script[@type='application/ld+json']")
_XPATH_CANONICAL = etree.XPath(
    "//link[@href][contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]"
)
_XPATH_TITLE = etree.XPath("//head/title|//title")
_XPATH_H1 = etree.XPath("//h1")
_XPATH_ITEMPROP_DATE = etree.XPath("//*[@itemprop='datePublished']")
_XPATH_TIME = etree.XPath("//time[@datetime]")
_XPATH_ITEMPROP_AUTHOR = etree.XPath(
    "//*[@itemprop][contains(concat(' ', normalize-space(@itemprop), ' '), ' author ')]"
)
_XPATH_ITEMPROP_NAME = etree.XPath(".//*[@itemprop='name']")
_XPATH_REL_AUTHOR = etree.XPath("//a[@rel='author']")
_XPATH_BYLINE = etree.XPath("//*[@class][contains(@class,'byline') or contains(@class,'author-name')]")
_VISIBLE_DATE_TIERS = (
    etree.XPath(f"//article//*[{_DATEISH}]|//main//*[{_DATEISH}]|//article//time|//main//time"),
    etree.XPath(f"(//h1)[1]/following::*[{_DATEISH} or self::time]"),
    etree.XPath(f"//*[{_DATEISH} or self::time][not(ancestor::nav)][not(ancestor::footer)]"),
)
MAX_VISIBLE_DATE_CANDIDATES = 30
_SPACES = re.compile(r"[^\S\n]+")
_BYLINE_PREFIX = re.compile(r"^(?:by|written by|author|نویسنده|به قلم)\s*[:：]?\s+", re.IGNORECASE)
_BYLINE_TRAILER = re.compile(r"[\s,;]+(?:and|و)?$", re.IGNORECASE)
_TITLE_SEPARATORS = " |-–—:·»•/"
MAX_AUTHORS = 10


def block_text(nodes: Iterable[HtmlElement]) -> str:
    """Visible text of elements, one line per block element, scripts and styles left out.

    Iterative (lxml iterwalk), so deeply nested hostile markup cannot exhaust the stack.
    """
    pieces: list[str] = []
    for node in nodes:
        walker = etree.iterwalk(node, events=("start", "end"))
        for event, element in walker:
            tag = element.tag if isinstance(element.tag, str) else ""
            if event == "start":
                if tag in _BLOCK_TAGS:
                    pieces.append("\n")
                if tag in _SKIP_TAGS or not tag:
                    walker.skip_subtree()
                elif element.text:
                    pieces.append(element.text)
            else:
                if tag in _BLOCK_TAGS:
                    pieces.append("\n")
                if element.tail and element is not node:
                    pieces.append(element.tail)
        pieces.append("\n")
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


class PageMetadata:
    """Page metadata read lazily from one parsed tree."""

    def __init__(self, tree: HtmlElement) -> None:
        self.tree = tree
        self.meta: dict[str, str] = {}
        for element in _XPATH_META(tree):
            key = (element.get("property") or element.get("name") or element.get("itemprop") or "").lower()
            content = (element.get("content") or "").strip()
            if key and content and key not in self.meta:
                self.meta[key] = content
        self.json_ld = _json_ld_article(tree)

    def first_meta(self, keys: Iterable[str]) -> str | None:
        return next((self.meta[key] for key in keys if key in self.meta), None)

    def title(self) -> str:
        site_name = self.first_meta(["og:site_name", "application-name"])
        title = self._raw_title()
        return _strip_site_name(title, site_name) if site_name else title

    def _raw_title(self) -> str:
        for candidate in (
            self.meta.get("og:title"),
            _json_string(self.json_ld.get("headline")),
            self.meta.get("twitter:title"),
        ):
            if candidate and candidate.strip():
                return _SPACES.sub(" ", candidate).strip()
        h1 = next((text for node in _XPATH_H1(self.tree) if (text := block_text([node]))), "")
        head_title = next((text for node in _XPATH_TITLE(self.tree) if (text := block_text([node]))), "")
        if h1 and (not head_title or h1 in head_title):
            return h1.replace("\n", " ")
        return head_title.replace("\n", " ")

    def published_at(self) -> datetime | None:
        candidates: list[str | None] = [self.meta.get(key) for key in _DATE_META]
        candidates.insert(2, _json_date(self.json_ld.get("datePublished")))
        candidates.append(_parsely_pub_date(self.meta.get("parsely-page")))
        for node in _XPATH_ITEMPROP_DATE(self.tree):
            candidates += [node.get("content"), node.get("datetime")]
        candidates += [node.get("datetime") for node in _XPATH_TIME(self.tree)[:5]]
        for value in candidates:
            if value and (found := parse_date(value)):
                return found
        return self._visible_date()

    def _visible_date(self) -> datetime | None:
        for tier in _VISIBLE_DATE_TIERS:
            nodes = tier(self.tree)
            for node in nodes[:MAX_VISIBLE_DATE_CANDIDATES] if isinstance(nodes, list) else []:
                text = block_text([node])
                if text and (found := find_date(text)):
                    return found
        return None

    def author(self) -> str | None:
        names = _json_ld_names(self.json_ld.get("author"))
        if names:
            return ", ".join(names)
        meta_author = self.first_meta(_AUTHOR_META)
        if meta_author and not meta_author.startswith(("http://", "https://")):
            return _clean_byline(meta_author)
        for xpath in (_XPATH_ITEMPROP_AUTHOR, _XPATH_REL_AUTHOR):
            names = _node_names(xpath(self.tree))
            if names:
                return ", ".join(names)
        return next(iter(_node_names(_XPATH_BYLINE(self.tree)[:1])), None)

    def canonical_url(self, page_url: str) -> str | None:
        hrefs = [node.get("href") for node in _XPATH_CANONICAL(self.tree)] + [self.meta.get("og:url")]
        for href in hrefs:
            if not href or not href.strip():
                continue
            absolute = urljoin(page_url, href.strip())
            parts = urlsplit(absolute)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                continue
            # A canonical pointing at the home page from an article is a template bug.
            if parts.path in ("", "/") and urlsplit(page_url).path not in ("", "/"):
                continue
            return canonicalize_url(absolute)
        return None

    def language(self, text: str) -> str | None:
        declared = _primary_subtag(
            self.tree.get("lang")
            or self.tree.get("{http://www.w3.org/XML/1998/namespace}lang")
            or self.first_meta(["og:locale", "content-language", "language"])
        )
        guess = guess_language(text)
        if declared is None:
            return guess
        if guess in ("fa", "ur") and declared != guess:
            return guess  # Persian/Urdu letters are positive evidence, templates often ship lang="en"
        if guess == "ar" and declared not in _ARABIC_SCRIPT_LANGUAGES:
            return guess
        return declared


def _strip_site_name(title: str, site_name: str) -> str:
    """'Good title | Site' -> 'Good title'; a title that is only the site name becomes ''."""
    site = site_name.strip()
    if not site or title.strip() == site:
        return title
    if title.strip(_TITLE_SEPARATORS) == site:
        return ""
    for candidate in (title.removesuffix(site), title.removeprefix(site)):
        if candidate != title and candidate.strip() and candidate != candidate.strip(_TITLE_SEPARATORS):
            return candidate.strip(_TITLE_SEPARATORS)
    return title


def _node_names(nodes: Iterable[HtmlElement]) -> list[str]:
    """Distinct person names from byline elements, nested itemprop=name preferred."""
    names: list[str] = []
    for node in list(nodes)[:MAX_AUTHORS]:
        named = _XPATH_ITEMPROP_NAME(node)
        raw = node.get("content") or block_text(named[:1] if named else [node])
        name = _clean_byline(raw)
        if name and len(name) <= 120 and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def _json_date(value: Any) -> str | None:
    """JSON-LD dates are strings, sometimes Unix seconds or milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _json_string(value)
    seconds = value / 1000 if value > 10**11 else value
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _parsely_pub_date(content: str | None) -> str | None:
    if not content or len(content) > MAX_JSON_LD_CHARS:
        return None
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return _json_string(data.get("pub_date")) if isinstance(data, dict) else None


def _primary_subtag(value: str | None) -> str | None:
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _clean_byline(value: str) -> str:
    cleaned = _BYLINE_PREFIX.sub("", _SPACES.sub(" ", value.replace("\n", " ")).strip())
    return _BYLINE_TRAILER.sub("", cleaned)


def _json_string(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _json_ld_names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items[:10]:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip() and not name.startswith(("http://", "https://")):
            cleaned = _clean_byline(name)
            if cleaned not in names:
                names.append(cleaned)
    return names


def _json_ld_objects(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 4:
        return
    if isinstance(value, list):
        for item in value[:50]:
            yield from _json_ld_objects(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        yield from _json_ld_objects(value.get("@graph"), depth + 1)
        yield from _json_ld_objects(value.get("mainEntity"), depth + 1)


def _json_ld_article(tree: HtmlElement) -> dict[str, Any]:
    """The first JSON-LD object typed as an article (or any with a headline), else {}."""
    fallback: dict[str, Any] = {}
    for script in _XPATH_JSON_LD(tree)[:10]:
        raw = script.text or ""
        if len(raw) > MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the stack
            continue
        for obj in _json_ld_objects(data):
            types = obj.get("@type")
            names = {t.lower() for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}
            if names & _ARTICLE_TYPES:
                return obj
            if not fallback and ("headline" in obj or "datePublished" in obj):
                fallback = obj
    return fallback
