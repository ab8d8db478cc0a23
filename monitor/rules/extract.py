"""Event slots filled from what lies nearest the evidence: people, prisons (from/to), courts and
branch, charges, the number of people concerned, and places.

Watchlist hits give persons, prisons, courts, charges and places (canonical names). Slots are taken
from the windows (sentences, by default) in which the rule held; persons, prisons, courts and
charges fall back to the paragraphs around the evidence when those windows name none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.rules.compiled import Entity
from monitor.rules.scanner import Span
from monitor.rules.view import DocumentView, Window

ENTITY_KEYS = (
    "persons",
    "prisons",
    "prison_from",
    "prison_to",
    "courts",
    "branch",
    "charges",
    "count",
    "places",
    "speakers",
)

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "یک": 1,
    "دو": 2,
    "سه": 3,
    "چهار": 4,
    "پنج": 5,
    "شش": 6,
    "هفت": 7,
    "هشت": 8,
    "نه": 9,
    "ده": 10,
    "یازده": 11,
    "دوازده": 12,
    "سیزده": 13,
    "چهارده": 14,
    "پانزده": 15,
    "شانزده": 16,
    "هفده": 17,
    "هجده": 18,
    "نوزده": 19,
    "بیست": 20,
    "سی": 30,
    "چهل": 40,
    "پنجاه": 50,
}
_ORDINALS = {
    "اول": 1,
    "دوم": 2,
    "سوم": 3,
    "چهارم": 4,
    "پنجم": 5,
    "first": 1,
    "second": 2,
    "third": 3,
}
# Nouns that say a number counts people or executions ("9 prisoners", «نه زندانی», "1,400
# executions").
_COUNT_NOUNS = frozenset(
    {
        "prisoner",
        "prisoners",
        "people",
        "person",
        "persons",
        "men",
        "women",
        "man",
        "woman",
        "inmates",
        "inmate",
        "individuals",
        "detainees",
        "activists",
        "protesters",
        "protestors",
        "juveniles",
        "citizens",
        "executions",
        "hangings",
        "defendants",
        "dissidents",
        "members",
        "kurds",
        "baluch",
        "others",
        "زندانی",
        "زندانیان",
        "نفر",
        "تن",
        "زن",
        "مرد",
        "فعال",
        "فعالان",
        "معترض",
        "معترضان",
        "متهم",
        "متهمان",
        "شهروند",
        "شهروندان",
        "اعدام",
        "اعدامها",
        "محکوم",
        "کودک",
        "نوجوان",
    }
)
_NUMBER = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)$")
_TOKEN_STRIP = "\"'()[]{}«».,;:!?،؛؟"
# Thousands separators inside numbers survive; other punctuation becomes a space.
_PUNCTUATION_TO_SPACE = str.maketrans({char: " " for char in _TOKEN_STRIP if char != ","})
_NUMBER_WORD_SET = frozenset(_NUMBER_WORDS)
_LOOSE_COMMA = re.compile(r",(?!\d)")
_FROM_CUES = frozenset({"from", "of", "از"})  # "out of" ends in "of"
_TO_CUES = frozenset({"to", "into", "به"})
# Where the prisoner is: the origin when no "from" names one.
_AT_CUES = frozenset({"at", "in", "inside", "در"})
_FILLERS = frozenset({"the", "a", "an", "notorious", "central", "زندان", "مرکزی"})
_BRANCH = re.compile(r"(?:branch|شعبه) (?:no\.? )?(\d+|[^\W\d]+)")


@dataclass(frozen=True, slots=True)
class Mention:
    span: Span
    entity: Entity


def mentions_in(view: DocumentView, entities: dict[int, list[Entity]]) -> list[Mention]:
    """Every watchlist hit in the document; of two overlapping hits of one kind, the longer."""
    found = [
        Mention(span, entity)
        for term_id, spans in view.hits.items()
        if term_id in entities
        for span in spans
        for entity in entities[term_id]
    ]
    found.sort(key=lambda m: (m.span[0], -(m.span[1] - m.span[0])))
    kept: list[Mention] = []
    for mention in found:
        if any(
            other.entity.kind == mention.entity.kind
            and _inside(mention.span, other.span)
            and other.span != mention.span
            for other in kept[-8:]
        ):
            continue
        kept.append(mention)
    return kept


def _inside(inner: Span, outer: Span) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def extract(
    view: DocumentView,
    mentions: Sequence[Mention],
    windows: Sequence[Window],
    evidence: Sequence[Span],
    event: str,
) -> dict[str, Any]:
    """The slots of one match; every key of ``ENTITY_KEYS`` is present."""
    by_kind: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_kind.setdefault(mention.entity.kind, []).append(mention)
    rings = _rings(view, windows, evidence) if mentions else [list(windows)]
    sentences = _evidence_sentences(view, windows, evidence)

    def nearest(kind: str) -> list[Mention]:
        """Mentions of ``kind`` in the nearest ring that has any."""
        candidates = by_kind.get(kind)
        if not candidates:
            return []
        for ring in rings:
            found = [m for m in candidates if _within(m.span, ring)]
            if found:
                return found
        return []

    def names(kind: str) -> list[str]:
        return list(dict.fromkeys(m.entity.name for m in nearest(kind)))

    prisons = nearest("prison")
    courts = nearest("court")
    covering = [m.span for m in prisons + courts]
    places = [
        m
        for m in by_kind.get("place", ())
        if _within(m.span, rings[0]) and not any(_inside(m.span, s) for s in covering)
    ]
    prison_from, prison_to = _directions(view, prisons) if event == "transfer" else (None, None)
    return {
        "persons": names("person"),
        "prisons": list(dict.fromkeys(m.entity.name for m in prisons)),
        "prison_from": prison_from,
        "prison_to": prison_to,
        "courts": _court_names(view, courts, by_kind.get("place", [])),
        "branch": _branch(view, sentences, courts),
        "charges": names("charge"),
        "count": _count(view, sentences, evidence),
        "places": list(dict.fromkeys(m.entity.name for m in places)),
        "speakers": names("speaker"),
    }


def _rings(
    view: DocumentView, windows: Sequence[Window], evidence: Sequence[Span]
) -> list[list[Window]]:
    """Where to look, nearest first: the windows where the rule held, the paragraphs of the
    evidence, and those paragraphs' neighbours."""
    paragraphs = view.paragraphs
    indexes = {view.segment_index("paragraph", span[0]) for span in evidence}
    chosen = [paragraphs[index] for index in sorted(indexes)]
    neighbours = sorted(
        {
            paragraphs[i]
            for index in indexes
            for i in (index - 1, index + 1)
            if 0 <= i < len(paragraphs)
        }
        | set(chosen)
    )
    return [list(windows), chosen, neighbours]


def _within(span: Span, windows: Sequence[Window]) -> bool:
    return any(low <= span[0] < high for low, high in windows)


def _words_before(view: DocumentView, position: int, limit: int = 4) -> list[str]:
    before = view.text[max(0, position - 40) : position].split(" ")
    return [word.strip(_TOKEN_STRIP) for word in before if word][-limit:]


def _directions(view: DocumentView, prisons: Sequence[Mention]) -> tuple[str | None, str | None]:
    """prison_from / prison_to from the word before each prison: from, out of, از / to, into, به;
    a prison the prisoner is "at" or "in" (در) is the origin when no "from" names one."""
    origin = destination = located = None
    for mention in prisons:
        for word in reversed(_words_before(view, mention.span[0])):
            if word in _FILLERS:
                continue
            if word in _FROM_CUES and origin is None:
                origin = mention.entity.name
            elif word in _TO_CUES and destination is None:
                destination = mention.entity.name
            elif word in _AT_CUES and located is None:
                located = mention.entity.name
            break
    if origin is None and located is not None and located != destination:
        origin = located
    return origin, destination


def _court_names(
    view: DocumentView, courts: Sequence[Mention], places: Sequence[Mention]
) -> list[str]:
    """Court names with their city: "Ahvaz Revolutionary Court", "Revolutionary Court of Ahvaz" and
    «دادگاه انقلاب اهواز» all give "Ahvaz Revolutionary Court"."""
    out: list[str] = []
    for court in courts:
        city = None
        for place in places:
            before = view.text[place.span[1] : court.span[0]]
            after = view.text[court.span[1] : place.span[0]]
            if before == " " or after in (" ", " of ", " in "):
                city = place.entity.name
                break
        out.append(f"{city} {court.entity.name}" if city else court.entity.name)
    return list(dict.fromkeys(out))


def _evidence_sentences(
    view: DocumentView, windows: Sequence[Window], evidence: Sequence[Span]
) -> list[Window]:
    """The sentences holding evidence, window by window (sentence windows are themselves)."""
    out: list[Window] = []
    for window in sorted(windows):
        inside = sorted(
            {
                view.segment_of("sentence", span[0])
                for span in evidence
                if window[0] <= span[0] < window[1]
            }
        )
        out.extend(inside or [window])
    return out


def _branch(
    view: DocumentView, sentences: Sequence[Window], courts: Sequence[Mention]
) -> int | None:
    """The branch number written nearest the court (or the first one) in the evidence sentences."""
    candidates: list[tuple[int, int]] = []
    for low, high in sentences:
        for found in _BRANCH.finditer(view.text, low, high):
            word = found.group(1)
            value = int(word) if word.isdigit() else _NUMBER_WORDS.get(word, _ORDINALS.get(word))
            if value is not None:
                candidates.append((found.start(), value))
    if not candidates:
        return None
    anchor = courts[0].span[0] if courts else candidates[0][0]
    return min(candidates, key=lambda item: abs(item[0] - anchor))[1]


def _count(view: DocumentView, sentences: Sequence[Window], evidence: Sequence[Span]) -> int | None:
    """The number of people (or executions) nearest the evidence: a number followed within two words
    by a counted noun. Years (1300-1500, 1900-2100 without a thousands separator) do not count."""
    anchor = min((span[0] for span in evidence), default=0)
    for sentence in sentences:
        candidates = _sentence_counts(view, sentence)
        if candidates:
            return min(candidates, key=lambda item: abs(item[0] - anchor))[1]
    return None


def _sentence_counts(view: DocumentView, sentence: Window) -> list[tuple[int, int]]:
    """(position, value) of each number followed by a counted noun in ``sentence``, memoised."""
    key = ("counts", sentence)
    cached: list[tuple[int, int]] | None = view.memo.get(key)
    if cached is None:
        cached = []
        # Punctuation becomes spaces (same length), so tokens are clean and positions still hold.
        text = view.text[sentence[0] : sentence[1]].translate(_PUNCTUATION_TO_SPACE)
        tokens = _LOOSE_COMMA.sub(" ", text).split(" ")
        if not _COUNT_NOUNS.isdisjoint(tokens) and (
            not _NUMBER_WORD_SET.isdisjoint(tokens) or any(t[:1].isdigit() for t in tokens)
        ):
            position = sentence[0]
            starts = []
            for token in tokens:
                starts.append(position)
                position += len(token) + 1
            words = [(start, token) for start, token in zip(starts, tokens, strict=True) if token]
            for index, (start, token) in enumerate(words):
                value = _number(token)
                if value is not None and any(
                    word in _COUNT_NOUNS for _, word in words[index + 1 : index + 4]
                ):
                    cached.append((start, value))
        view.memo[key] = cached
    return cached


def _number(token: str) -> int | None:
    if _NUMBER.match(token):
        value = int(token.replace(",", ""))
        if "," not in token and (1300 <= value <= 1500 or 1900 <= value <= 2100):
            return None
        return value
    return _NUMBER_WORDS.get(token)
