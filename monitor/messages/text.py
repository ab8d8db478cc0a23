"""Make scraped text safe to place in a message, before any escaping.

Scraped text is hostile: bidi embedding/override/isolate controls could reorder the rest of a
message, control characters break headers and parsers, and links may carry other schemes. Escaping
(HTML/Jinja autoescape) happens later; these functions only decide which characters survive.
Persian text, ZWNJ, emoji and the plain LRM/RLM/ALM marks are kept as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

# LRE RLE PDF LRO RLO and LRI RLI FSI PDI: they open or close a directional run that can outlive
# the scraped string. The marks LRM (200E), RLM (200F) and ALM (061C) only affect neighbours.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
FSI, PDI = "\u2068", "\u2069"

_DROP: dict[int, str | None] = {ord(c): None for c in BIDI_CONTROLS}
_DROP.update({c: None for c in range(0x00, 0x20) if chr(c) not in "\n\t"})
_DROP.update(dict.fromkeys(range(0x7F, 0xA0)))
_DROP.update(dict.fromkeys((0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB)))  # BOM, interlinear annotations
_DROP.update({ord("\t"): " ", 0x2028: "\n", 0x2029: "\n", 0x0B: "\n", 0x0C: "\n"})
_NEWLINES = re.compile(r"\r\n?")
_SPACES = re.compile(r"[^\S\n]+")  # whitespace runs other than newlines
_BLANK_LINES = re.compile(r"\n{3,}")

_HREF_SCHEMES = frozenset({"http", "https"})
_HREF_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def strip_controls(text: str) -> str:
    """Drop bidi controls and control characters; unify line breaks to ``\\n``."""
    return _NEWLINES.sub("\n", text).translate(_DROP)


def clean_line(text: str | None) -> str:
    """One line of scraped text: controls dropped, all whitespace runs made one space."""
    if not text:
        return ""
    return " ".join(strip_controls(text).split())


def clean_block(text: str | None) -> str:
    """Scraped paragraphs: controls dropped, spaces collapsed, lines trimmed, ≤1 blank line."""
    if not text:
        return ""
    lines = (_SPACES.sub(" ", line).strip() for line in strip_controls(text).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def isolate(text: str) -> str:
    """Wrap already-cleaned inline text in FSI…PDI so its direction stays inside it."""
    return f"{FSI}{text}{PDI}" if text else text


def safe_href(url: str | None) -> str | None:
    """An http(s) URL fit for an href (quotes, brackets, spaces percent-encoded), else None."""
    if not url:
        return None
    candidate = strip_controls(url).strip()
    if any(c.isspace() for c in candidate):
        return None
    try:
        parts = urlsplit(candidate)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in _HREF_SCHEMES or not hostname:
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            quote(parts.path, safe=_HREF_SAFE),
            quote(parts.query, safe=_HREF_SAFE),
            quote(parts.fragment, safe=_HREF_SAFE),
        )
    )


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits (emoji count 2)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def format_when(moment: datetime | None) -> str:
    """``2024-09-21 14:03 UTC``; naive datetimes are taken as UTC."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_value(value: object) -> str:
    """An entity value as one clean line: lists and sets joined with commas; None (an empty slot) as ''."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(clean_line(str(v)) for v in items if clean_line(str(v)))
    if isinstance(value, datetime):
        return format_when(value)
    return clean_line(str(value))


_LINE_BREAKS = re.compile(r"[^\S\n]*\n\s*")


@dataclass(frozen=True)
class Excerpt:
    """The words around a rule's trigger, as published: ``before`` and ``after`` start or end with "…"
    where the text goes on. Only line breaks become spaces; every other character (spaces, ZWNJ,
    punctuation) is the source's own."""

    before: str
    trigger: str
    after: str

    def __str__(self) -> str:
        return f"{self.before}{self.trigger}{self.after}"


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", strip_controls(text))


def excerpt(text: str, start: int, end: int, *, context: int = 80) -> Excerpt | None:
    """The trigger ``text[start:end]`` whole, with about ``context`` characters either side, cut at word
    boundaries; None when the span is not inside the text (an edited item's old offsets)."""
    if not 0 <= start < end <= len(text):
        return None
    left, right = max(0, start - context), min(len(text), end + context)
    if left > 0:
        space = next((i for i in range(left, start) if text[i].isspace()), None)
        left = space + 1 if space is not None else left
    if right < len(text):
        space = next((i for i in range(right - 1, end - 1, -1) if text[i].isspace()), None)
        right = space if space is not None else right
    before = _one_line(text[left:start])
    after = _one_line(text[end:right])
    return Excerpt(("… " if left > 0 else "") + before.lstrip(), _one_line(text[start:end]),
                   after.rstrip() + (" …" if right < len(text) else ""))


def first_excerpt(title: str, text: str, spans: list[object], *, context: int = 80) -> Excerpt | None:
    """The excerpt of a match's first span in the text (``[start, end]``), else in the title
    (``["title", start, end]``); None when it has no usable span."""
    text_spans = [s for s in spans if isinstance(s, list | tuple) and len(s) == 2]
    title_spans = [s[1:] for s in spans if isinstance(s, list | tuple) and len(s) == 3 and s[0] == "title"]
    for source, found in ((text, text_spans), (title, title_spans)):
        for start, end in found:
            if isinstance(start, int) and isinstance(end, int):
                cut = excerpt(source, start, end, context=context)
                if cut is not None:
                    return cut
    return None


def case_place(details: dict[str, Any]) -> str:
    """Places of a case event, and for a transfer where from and where to (``a -> b``)."""
    parts = [str(p) for p in details.get("places", [])]
    moved_from, moved_to = details.get("prison_from") or [], details.get("prison_to") or []
    if moved_from or moved_to:
        moved = {*map(str, moved_from), *map(str, moved_to)}
        parts = [p for p in parts if p not in moved]
        parts.append(f"{', '.join(moved_from) or '?'} -> {', '.join(moved_to) or '?'}")
    return ", ".join(parts)
