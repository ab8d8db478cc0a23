"""One document prepared for matching: title and text normalised into one string, hits, segments.

The title comes first, then one space, then the text; ``split`` is the index of that space. Spans
are indices into this combined string until ``raw_span`` maps them back to the title or the text.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from monitor.rules.clauses import background_spans, clause_windows
from monitor.rules.normalize import NormalizedText, normalize
from monitor.rules.scanner import Scanner, Span

Window = tuple[int, int]
LEAD_SENTENCES = 2
# A sentence ends at . ! ? ؟ ; ؛ or … followed by a space, unless the word before the full stop
# is an abbreviation ("Dr.") or a single letter ("U.N.", "i.e."). Found with str.find: a regex
# character class costs more per character than the rest of the segmentation.
_SENTENCE_MARKS = ".!?\u061f;\u061b\u2026"
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "no",
        "nos",
        "vs",
        "gen",
        "col",
        "lt",
        "jr",
        "sr",
        "prof",
        "art",
        "para",
        "sec",
        "vol",
        "fig",
        "approx",
        "inc",
        "co",
    }
)


def sentence_ends(text: str) -> list[int]:
    """Indexes of the spaces that end sentences in normalised ``text``."""
    ends: list[int] = []
    size = len(text)
    for mark in _SENTENCE_MARKS:
        index = text.find(mark)
        while index >= 0:
            after = index + 1
            if after < size and text[after] == " ":
                # Abbreviations are Latin: a full stop after a Persian word always ends a sentence.
                latin = mark == "." and index and text[index - 1].isascii()
                if not latin or not _abbreviation_before(text, index):
                    ends.append(after)
            index = text.find(mark, after)
    return ends


def _abbreviation_before(text: str, dot: int) -> bool:
    if text[dot - 1].isalpha() and (dot == 1 or text[dot - 2] in " ."):
        return True  # a single letter: "U.N.", "i.e.", "A."
    start = text.rfind(" ", max(0, dot - 8), dot) + 1
    return text[start:dot] in _ABBREVIATIONS


@dataclass(frozen=True, slots=True)
class RawSpan:
    field: str  # "title" or "text"
    start: int
    end: int


class DocumentView:
    """The normalised title + text of one document, and what the automaton found in it."""

    def __init__(
        self,
        title: str,
        text: str,
        scanner: Scanner,
        regex_search: Callable[[int, str], list[Span]] | None = None,
    ) -> None:
        self.title: NormalizedText = normalize(title)
        self.body: NormalizedText = normalize(text)
        self.split = len(self.title.text)
        self.text = f"{self.title.text} {self.body.text}"
        self.hits = scanner.scan(self.text)
        self._regex_search = regex_search
        self._regex_cache: dict[int, list[Span]] = {}
        self.memo: dict[object, Any] = {}  # per-document results of slot extraction
        self._set_cache: dict[int, list[Span]] = {}
        self._set_keep: list[frozenset[int]] = []

    # -------------------------------------------------------------------------------------- lookups
    def term_spans(self, term_ids: frozenset[int], window: Window) -> list[Span]:
        """Spans of any of ``term_ids`` that start inside ``window``, in text order."""
        key = id(term_ids)
        spans = self._set_cache.get(key)
        if spans is None:
            hits = self.hits
            if len(term_ids) > len(hits):
                found = [hits[term_id] for term_id in hits if term_id in term_ids]
            else:
                found = [hits[term_id] for term_id in term_ids if term_id in hits]
            spans = (
                found[0] if len(found) == 1 else sorted(span for group in found for span in group)
            )
            self._set_cache[key] = spans
            self._set_keep.append(term_ids)  # ids stay valid while the set is alive
        if not spans:
            return spans
        low, high = window
        if low <= spans[0][0] and spans[-1][0] < high:
            return spans
        return spans[bisect_left(spans, (low, -1)) : bisect_left(spans, (high, -1))]

    def regex_spans(self, index: int, window: Window) -> list[Span]:
        spans = self._regex_cache.get(index)
        if spans is None:
            spans = self._regex_search(index, self.text) if self._regex_search else []
            self._regex_cache[index] = spans
        low, high = window
        return [span for span in spans if low <= span[0] < high]

    def field_window(self, name: str, window: Window) -> Window:
        low, high = window
        if name == "title":
            return low, min(high, self.split)
        if name == "lead":
            return low, min(high, self.lead_end)
        return max(low, self.split + 1), high

    @cached_property
    def lead_end(self) -> int:
        """Where the lead ends: the title and the first two sentences of the text are the lead."""
        body = [s for s in self.sentences if s[0] > self.split][:LEAD_SENTENCES]
        return body[-1][1] if body else self.split

    @cached_property
    def foreground(self) -> DocumentView:
        """This document with its background clauses hidden (the ``main:`` field): a ForegroundView,
        which answers every lookup the evaluator makes."""
        return cast("DocumentView", ForegroundView(self))

    def in_background(self, span: Span) -> bool:
        """Whether ``span`` starts inside a background clause of its sentence (never in the title: a
        headline tells the news)."""
        if span[0] < self.split:
            return False
        sentence = self.segment_of("sentence", span[0])
        key = ("background", sentence)
        found: list[Window] | None = self.memo.get(key)
        if found is None:
            found = self.memo[key] = background_spans(self.text, sentence)
        return any(low <= span[0] < high for low, high in found)

    def same_field(self, first: Span, second: Span) -> bool:
        return (first[0] < self.split) == (second[0] < self.split)

    def words_between(self, first: Span, second: Span) -> int:
        """How many words lie between two spans (0 when adjacent or overlapping)."""
        if second[0] < first[0]:
            first, second = second, first
        if second[0] <= first[1]:
            return 0
        return max(0, self.text.count(" ", first[1], second[0]) - 1)

    @property
    def whole(self) -> Window:
        return 0, len(self.text)

    # ------------------------------------------------------------------------------------- segments
    @cached_property
    def paragraphs(self) -> list[Window]:
        cuts = {self.split, *self.title.breaks, *(self.split + 1 + b for b in self.body.breaks)}
        return _windows(sorted(cuts), len(self.text))

    @cached_property
    def sentences(self) -> list[Window]:
        return [s for index in range(len(self.paragraphs)) for s in self._sentences_in(index)]

    def _sentences_in(self, paragraph: int) -> list[Window]:
        """The sentences of one paragraph, segmented on first use: most rules only ever need the
        sentences around their trigger words."""
        key = ("sentences", paragraph)
        found: list[Window] | None = self.memo.get(key)
        if found is None:
            low, high = self.paragraphs[paragraph]
            cuts = sorted(low + end for end in sentence_ends(self.text[low:high]))
            found = _windows(cuts, high, low)
            self.memo[key] = found
        return found

    @cached_property
    def clauses(self) -> list[Window]:
        return [c for sentence in self.sentences for c in self._clauses_in(sentence)]

    def _clauses_in(self, sentence: Window) -> list[Window]:
        key = ("clauses", sentence)
        found: list[Window] | None = self.memo.get(key)
        if found is None:
            found = self.memo[key] = clause_windows(self.text, sentence)
        return found

    def segments(self, scope: str) -> list[Window]:
        if scope == "clause":
            return self.clauses
        if scope == "sentence":
            return self.sentences
        if scope == "paragraph":
            return self.paragraphs
        return [self.whole]

    def segment_of(self, scope: str, position: int) -> Window:
        if scope == "clause":
            sentence = self.segment_of("sentence", position)
            clauses = self._clauses_in(sentence)
            index = bisect_right(clauses, (position, len(self.text) + 1)) - 1
            return clauses[max(index, 0)] if clauses else sentence
        if scope == "sentence":
            sentences = self._sentences_in(self.segment_index("paragraph", position))
            index = bisect_right(sentences, (position, len(self.text) + 1)) - 1
            return sentences[max(index, 0)] if sentences else (position, position + 1)
        return self.segments(scope)[self.segment_index(scope, position)]

    def segment_index(self, scope: str, position: int) -> int:
        segments = self.segments(scope)
        return max(bisect_right(segments, (position, len(self.text) + 1)) - 1, 0)

    # ------------------------------------------------------------------------------------- raw text
    def raw_text(self, window: Window) -> str:
        """The raw title or text under ``window`` (the title part only, if it spans both)."""
        start, end = window
        if start < self.split:
            end = min(end, self.split)
        while end > start and self.text[end - 1] == " ":
            end -= 1
        if end <= start:
            return ""
        raw = self.raw_span((start, end))
        source = self.title.original if raw.field == "title" else self.body.original
        return source[raw.start : raw.end]

    def raw_span(self, span: Span) -> RawSpan:
        start, end = span
        if start < self.split:
            raw_start, raw_end = self.title.original_span(start, min(end, self.split))
            return RawSpan("title", raw_start, raw_end)
        offset = self.split + 1
        raw_start, raw_end = self.body.original_span(start - offset, end - offset)
        return RawSpan("text", raw_start, raw_end)


class ForegroundView:
    """A DocumentView whose term and regex hits exclude those starting in background clauses."""

    def __init__(self, view: DocumentView) -> None:
        self._view = view
        self._cache: dict[int, list[Span]] = {}
        self._keep: list[frozenset[int]] = []

    @property
    def foreground(self) -> DocumentView:
        return cast("DocumentView", self)

    def term_spans(self, term_ids: frozenset[int], window: Window) -> list[Span]:
        key = id(term_ids)
        spans = self._cache.get(key)
        if spans is None:
            view = self._view
            spans = [s for s in view.term_spans(term_ids, view.whole) if not view.in_background(s)]
            self._cache[key] = spans
            self._keep.append(term_ids)
        low, high = window
        if not spans or (low <= spans[0][0] and spans[-1][0] < high):
            return spans
        return spans[bisect_left(spans, (low, -1)) : bisect_left(spans, (high, -1))]

    def regex_spans(self, index: int, window: Window) -> list[Span]:
        view = self._view
        return [s for s in view.regex_spans(index, window) if not view.in_background(s)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)


def _windows(cuts: list[int], size: int, begin: int = 0) -> list[Window]:
    """Windows of ``[begin, size)`` between cut positions (a cut is a separator character, not
    part of either side)."""
    out: list[Window] = []
    for cut in cuts:
        if cut > begin:
            out.append((begin, cut))
        begin = max(begin, cut + 1 if cut < size and cut >= 0 else cut)
    if begin < size:
        out.append((begin, size))
    return out
