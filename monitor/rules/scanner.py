"""All literals of all rules and watchlists in one Aho-Corasick automaton, plus boundary checks.

One pass over the normalised text finds all candidate hits whatever the number of terms; each raw
hit is then checked against its neighbours (see terms.py for the Persian affix rules). Hits are
grouped by term id, so rules look up their terms in a dict instead of scanning the text again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ahocorasick

from monitor.rules.terms import MAX_SUFFIX, PERSIAN_SUFFIXES, VERB_PREFIXES, is_persian_letter

Span = tuple[int, int]
_WORD_REST = re.compile(r"\w*")


WORD, PREFIX, STRICT = 0, 1, 2  # term modes: affixes allowed; "*" at the end; whole word only


@dataclass
class TermTable:
    """Interns ``(key, mode)`` pairs as small integers (term ids)."""

    ids: dict[tuple[str, int], int] = field(default_factory=dict)
    keys: list[tuple[str, int]] = field(default_factory=list)

    def add(self, key: str, prefix: bool = False, *, strict: bool = False) -> int:
        pair = (key, STRICT if strict else PREFIX if prefix else WORD)
        term_id = self.ids.get(pair)
        if term_id is None:
            term_id = len(self.keys)
            self.ids[pair] = term_id
            self.keys.append(pair)
        return term_id

    def __len__(self) -> int:
        return len(self.keys)


class Scanner:
    """Finds whole-word occurrences of every term in a normalised text in one pass."""

    def __init__(self, table: TermTable) -> None:
        grouped: dict[str, tuple[list[int], list[int], list[int]]] = {}
        for term_id, (key, mode) in enumerate(table.keys):
            grouped.setdefault(key, ([], [], []))[mode].append(term_id)
        self.size = len(grouped)
        self._automaton: ahocorasick.Automaton | None = None
        if grouped:
            automaton = ahocorasick.Automaton()
            for key, (exact, prefixed, strict) in grouped.items():
                automaton.add_word(
                    key,
                    (
                        len(key),
                        key[0].isalnum(),  # check the left neighbour
                        key[-1].isalnum(),  # check the right neighbour
                        is_persian_letter(key[0]),  # may follow a verb prefix
                        is_persian_letter(key[-1]),  # may take a suffix
                        tuple(exact),
                        tuple(prefixed),
                        tuple(exact + prefixed),
                        tuple(strict),
                    ),
                )
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, text: str) -> dict[int, list[Span]]:
        """Term id -> spans ``[start, end)`` of its whole-word hits in ``text``, in text order."""
        hits: dict[int, list[Span]] = {}
        if self._automaton is None:
            return hits
        size = len(text)
        accepted: list[tuple[int, Span]] = []
        push = accepted.append
        for last, entry in self._automaton.iter(text):
            length, left, right, after_prefix, takes_suffix, exact, prefixed, plain, strict = entry
            start = last - length + 1
            joined_left = left and start and text[start - 1].isalnum()
            if joined_left and not (after_prefix and _verb_prefix_before(text, start)):
                continue
            stop = last + 1
            if not right or stop == size or not text[stop].isalnum():
                span = (start, stop)
                for term_id in plain if joined_left else plain + strict:
                    push((term_id, span))
                continue
            if not (prefixed or (exact and takes_suffix)):
                continue
            word_end = _WORD_REST.match(text, stop).end()  # type: ignore[union-attr]
            for term_id in prefixed:
                push((term_id, (start, word_end)))
            if (
                exact
                and takes_suffix
                and word_end - stop <= MAX_SUFFIX
                and text[stop:word_end] in PERSIAN_SUFFIXES
            ):
                for term_id in exact:
                    push((term_id, (start, word_end)))
        for term_id, span in accepted:
            found = hits.get(term_id)
            if found is None:
                hits[term_id] = [span]
            elif found[-1] != span:
                found.append(span)
        return hits


def _verb_prefix_before(text: str, start: int) -> bool:
    """Whether the letters joined to the left of ``start`` are exactly می or نمی."""
    begin = start
    while begin > 0 and start - begin <= 3 and text[begin - 1].isalnum():
        begin -= 1
    return (begin == 0 or not text[begin - 1].isalnum()) and text[begin:start] in VERB_PREFIXES
