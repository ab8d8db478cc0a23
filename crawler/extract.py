"""Pure extraction of an article's text and metadata from one HTML page (no I/O, no Scrapy).

The body text comes from trafilatura with TRAFILATURA_OPTIONS, chosen on the saved fixture pages
(docs PERFORMANCE "Extraction"): comments off, favor_precision on, fallbacks kept (fast=True lost
a whole Korean article). Title, date, author, canonical URL and language come from the page's
metadata (Open Graph, JSON-LD, <time>, <link rel=canonical>, <html lang>) with visible-text
fallbacks; a per-source CSS selector beats both for its field.

trafilatura deletes ZWNJ (U+200C), turning ملت‌ها into ملتها; we swap it for a printable
placeholder before extraction and back afterwards, so the text keeps the published spelling.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import trafilatura
from cssselect import HTMLTranslator, SelectorError
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from crawler.dates import find_date, parse_date

__all__ = [
    "TRAFILATURA_OPTIONS",
    "Extracted",
    "ExtractionOverrides",
    "canonicalize_url",
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
MAX_JSON_LD_CHARS = 500_000
MAX_FIELD_CHARS = 500
_ARABIC_SCRIPT_LANGUAGES = frozenset({"fa", "ar", "ur", "ps", "ckb", "ku", "sd", "ug"})
_LETTER = re.compile(r"[^\W\d_]")
_ARABIC_LETTER = re.compile(
    r"[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc]"
)
_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_PERSIAN_LETTER = re.compile("[پچژگیک]")
_URDU_LETTER = re.compile("[ٹڈڑںےۓ]")
# The commonest English words make up about a quarter of running text; Spanish or French, under 3%.
_ENGLISH_COMMON = (
    "the of and to in is that for it was on with as be by at he his are from this have has an not"
)
_ENGLISH_COMMON_WORDS = frozenset(_ENGLISH_COMMON.split())
_LATIN_WORD = re.compile(r"[a-z]+")
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
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
        metadata = _Metadata(tree)
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


def canonicalize_url(url: str) -> str:
    """One spelling per page URL: lowercase scheme and host, no fragment, no default port,
    no tracking parameters (utm_*, fbclid, gclid, ...), remaining query parameters sorted by
    name (repeated names keep their order). The path keeps its case."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if parts.hostname is not None:
        host = parts.hostname  # already lowercased by urlsplit
        host = f"[{host}]" if ":" in host else host
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (f"{userinfo}@" if userinfo else "") + host
        if port is not None and _DEFAULT_PORTS.get(scheme) != port:
            netloc += f":{port}"
    path = parts.path or ("/" if netloc else "")
    kept = [pair for pair in parts.query.split("&") if pair and not _is_tracking(pair)]
    kept.sort(key=lambda pair: unquote_plus(pair.partition("=")[0]))
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))


def guess_language(text: str) -> str | None:
    """Cheap script-based guess: Arabic script -> fa (Persian letters), ur, else ar; Latin text
    -> en when common English words are frequent; anything else (Spanish, Chinese...) -> None."""
    sample = text[:5000]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return None
    arabic = len(_ARABIC_LETTER.findall(sample))
    if arabic * 2 >= letters:
        urdu = len(_URDU_LETTER.findall(sample))
        persian = len(_PERSIAN_LETTER.findall(sample))
        if urdu >= 2 and urdu * 200 >= arabic:
            return "ur"
        if persian >= 2 and persian * 300 >= arabic:
            return "fa"
        return "ar"
    if len(_LATIN_LETTER.findall(sample)) * 2 < letters:
        return None
    words = _LATIN_WORD.findall(sample.lower())
    common = sum(word in _ENGLISH_COMMON_WORDS for word in words)
    return "en" if words and common * 100 >= len(words) * 8 else None


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.partition("=")[0]).lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


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


class _Metadata:
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
