"""Searching stored items by their words, in English and Persian, the way the rules read text.

Each item's title and text are kept normalised by the rules' normaliser (``search_docs``; SQLite FTS5 or
PostgreSQL full text index them), and a query is normalised the same way: ي and ی, ك and ک, ZWNJ and a
space, Persian and ASCII digits are one. ``search_items`` first indexes what is new or edited, so a search
always sees every stored item. Excerpts highlight the hits in the raw text (``Segment``): callers escape
them, nothing here is markup. The console and ``tocsin items search`` call these same functions.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from monitor.rules.normalize import normalize, normalize_pattern
from storage import search_repo
from storage.models import Item
from storage.search_repo import SearchFilters

INDEX_BATCH = 500
EXCERPT_WIDTH = 90
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Segment:
    """A piece of raw text; ``hit`` marks a matched word (shown highlighted)."""

    text: str
    hit: bool = False


@dataclass
class SearchResult:
    query: str
    phrases: list[str]
    total: int
    items: list[Item] = field(default_factory=list)
    indexed: int = 0  # documents (re)indexed before searching


def document_body(title: str, text: str) -> str:
    """What is indexed: title and text, normalised as the rules normalise them."""
    return normalize(f"{title}\n{text}").text


def index_pending(session: Session, *, batch: int = INDEX_BATCH,
                  on_progress: Callable[[int], None] | None = None) -> int:
    """Index every item with no search document or an outdated one; returns how many were indexed."""
    done = 0
    while items := search_repo.stale_items(session, limit=batch):
        search_repo.put_documents(session, [(item.id, item.version, document_body(item.title, item.text))
                                            for item in items])
        session.flush()
        done += len(items)
        if on_progress is not None:
            on_progress(done)
        if len(items) < batch:
            break
    return done


def query_phrases(query: str) -> list[str]:
    """The normalised words and "quoted phrases" of a query (an unbalanced quote is taken literally)."""
    try:
        parts = shlex.split(query.replace("'", " "))
    except ValueError:
        parts = query.replace('"', " ").split()
    return [phrase for part in parts if (phrase := normalize_pattern(part))]


def search_items(session: Session, query: str, *, filters: SearchFilters | None = None, limit: int = 50,
                 offset: int = 0) -> SearchResult:
    """Items containing every word and phrase of ``query`` (best first). Needs a write session: it indexes."""
    indexed = index_pending(session)
    phrases = query_phrases(query)
    ids, total = search_repo.search(session, phrases, filters=filters or SearchFilters(), limit=limit,
                                    offset=offset)
    items = {item.id: item for item in (session.get(Item, item_id) for item_id in ids) if item is not None}
    return SearchResult(query, phrases, total, [items[i] for i in ids if i in items], indexed)


def phrase_spans(text: str, phrases: Sequence[str]) -> list[tuple[int, int]]:
    """Raw spans of ``text`` where a phrase occurs as whole words (after normalisation)."""
    if not phrases or not text:
        return []
    normal = normalize(text)
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(p)}(?!\w)" for p in sorted(phrases, key=len, reverse=True)))
    return [normal.original_span(found.start(), found.end()) for found in pattern.finditer(normal.text)]


def segments(text: str, spans: Sequence[Sequence[int]]) -> list[Segment]:
    """The whole text cut into plain and highlighted pieces (overlapping spans merged)."""
    cuts = sorted((max(0, int(s)), min(len(text), int(e))) for s, e, *_ in spans if int(e) > int(s))
    merged: list[tuple[int, int]] = []
    for start, end in cuts:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    pieces, position = [], 0
    for start, end in merged:
        if start > position:
            pieces.append(Segment(text[position:start]))
        pieces.append(Segment(text[start:end], hit=True))
        position = end
    if position < len(text):
        pieces.append(Segment(text[position:]))
    return pieces


def excerpt(text: str, spans: Sequence[Sequence[int]], *, width: int = EXCERPT_WIDTH, most: int = 3
            ) -> list[Segment]:
    """Up to ``most`` hits with ``width`` characters around each, "…" between; the text's start if none."""
    if not spans:
        text = _SPACES.sub(" ", text).strip()
        return [Segment(text[: width * 2] + ("…" if len(text) > width * 2 else ""))]
    windows: list[tuple[int, int]] = []
    for start, end in sorted((int(s[0]), int(s[1])) for s in spans)[: most * 4]:
        left, right = max(0, int(start) - width), min(len(text), int(end) + width)
        if windows and left <= windows[-1][1]:
            windows[-1] = (windows[-1][0], right)
        elif len(windows) < most:
            windows.append((left, right))
    pieces: list[Segment] = []
    for left, right in windows:
        inside = [(int(s) - left, int(e) - left) for s, e, *_ in spans if int(s) >= left and int(e) <= right]
        pieces.append(Segment("…" if left else ""))
        pieces += [Segment(_SPACES.sub(" ", p.text), p.hit) for p in segments(text[left:right], inside)]
        pieces.append(Segment("…" if right < len(text) else ""))
    return [piece for piece in pieces if piece.text]
