"""Names that are not on the watchlist but keep coming up in death-sentence or transfer reports.

The rules engine only names watched people, so the names are read from the items themselves, in the
sentences holding the match evidence (the whole text when a match has no spans):

* English: runs of two or three capitalised words ("Farshad Etemadi-Far"), minus institutions, places and
  dates ("Branch 1 of the Ahvaz Revolutionary Court", "Qezel Hesar Prison", "July");
* Persian: the two words after a cue such as «زندانی سیاسی», «فعال», «به نام», and further names listed after
  it with «،» or «و».

A name is dropped when it overlaps a match span (the engine recognised it: a watched person's alias), equals
or nearly equals (difflib ratio >= 0.85) a watched name, or is on ``proposals.ignore``. What remains and was
seen in ``min_items`` items from ``min_sources`` sources within ``within`` is proposed. This is a heuristic
that feeds a human decision, never an alert.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from config.early_warning import ProposalConfig
from monitor.trends.events import Report, fold_name

_EN_WORD = r"[A-Z][a-z\u00e0-\u00ff'’]+(?:-[A-Za-z][a-z\u00e0-\u00ff'’]+)*"
_EN_NAME = re.compile(rf"(?<![\w-])({_EN_WORD}(?:\s+{_EN_WORD}){{1,3}})(?![\w-])")
_EN_LEAD = {"on", "the", "a", "an", "political", "prisoner", "prisoners", "activist", "activists", "mr", "mrs",
            "ms", "dr", "sheikh", "in", "at", "after", "before", "since", "when", "while", "death", "row",
            "dissident", "kurdish", "baluch", "arab", "young", "former", "detainee", "inmate", "also", "and",
            "but", "his", "her", "their", "family", "mother", "father", "lawyer", "son", "daughter", "both"}
_EN_STOP = {
    "court", "courts", "prison", "prisons", "branch", "supreme", "revolutionary", "islamic", "republic", "iran",
    "iranian", "news", "agency", "human", "rights", "united", "nations", "council", "ministry", "guard",
    "guards", "corps", "province", "judiciary", "intelligence", "organization", "organisation", "mojahedin",
    "people's", "amnesty", "international", "campaign", "tuesdays", "executions", "execution", "monitor",
    "watch", "network", "center", "centre", "committee", "special", "rapporteur", "office", "general",
    "high", "commissioner", "security", "national", "state", "media", "tv", "television", "radio", "press",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "hesar", "hessar", "evin", "ward", "quarantine", "solitary", "tehran", "god", "war", "waging", "pmoi",
    "mek", "irgc", "un", "eu", "european", "parliament", "resistance", "mission", "fact", "finding",
    "hrana", "hengaw", "kurdpa", "haalvsh", "fars", "tasnim", "irna", "isna", "kayhan", "mizan", "farsi",
    "english", "persian", "read", "more", "share", "tweet", "home", "latest", "related", "posts",
}
_FA_CUES = ("زندانی سیاسی", "زندانیان سیاسی", "زندانی", "زندانیان", "فعال سیاسی", "فعالان سیاسی", "فعالان",
            "فعال", "آقای", "خانم", "به نام‌های", "به نام های", "به نام", "به اسامی", "محکوم به اعدام")
_FA_STOP = {"در", "به", "از", "که", "را", "با", "برای", "این", "آن", "بود", "شد", "است", "اند", "های", "ها",
            "و", "یا", "سیاسی", "زندان", "زندانی", "دادگاه", "شعبه", "حکم", "اعدام", "محکوم", "پس", "روز",
            "تیر", "مرداد", "شهریور", "خرداد", "سال", "ماه", "هفته", "انقلاب", "عالی", "دیوان", "کشور", "او",
            "وی", "ایشان", "نیز", "هم", "تن", "نفر", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه", "ده"}
_FA_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})
_FA_CUE_KEYS = [[w.replace("\u200c", "").translate(_FA_LETTERS) for w in c.split()] for c in _FA_CUES]
_FA_STOP_KEYS = {w.translate(_FA_LETTERS) for w in _FA_STOP}
_FA_WORD = re.compile(r"[\u0621-\u065f\u066e-\u06d3\u06d5-\u06ef\u06fa-\u06ff\u200c]+")  # letters, not ، ؛ ؟ or digits
_SENTENCE_END = re.compile(r"[.!?؟\n]")


@dataclass
class Candidate:
    key: str
    names: list[str] = field(default_factory=list)
    items: dict[int, Report] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return max(set(self.names), key=lambda n: (self.names.count(n), n))


def _sentences_around(text: str, spans: Sequence[Any]) -> list[tuple[int, str]]:
    """(offset, sentence) for each sentence of ``text`` holding a span; the whole text when none does."""
    ranges = [(int(s[0]), int(s[1])) for s in spans
              if isinstance(s, list | tuple) and len(s) == 2 and all(isinstance(v, int) for v in s)]
    if not ranges:
        return [(0, text)]
    out: dict[int, str] = {}
    for start, end in ranges:
        left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, max(0, start))), default=0)
        found = _SENTENCE_END.search(text, min(len(text), end))
        right = found.start() if found else len(text)
        out.setdefault(left, text[left:right])
    return sorted(out.items())


def _span_ranges(spans: Sequence[Any]) -> list[tuple[int, int]]:
    return [(int(s[0]), int(s[1])) for s in spans
            if isinstance(s, list | tuple) and len(s) == 2 and all(isinstance(v, int) for v in s)]


def _fa_key(word: str) -> str:
    return word.replace("\u200c", "").translate(_FA_LETTERS)


def english_names(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of capitalised two- or three-word runs that are not institutions or dates."""
    found = []
    for match in _EN_NAME.finditer(sentence):
        words = match.group(1).split()
        while words and words[0].casefold() in _EN_LEAD:
            words = words[1:]
        if not 2 <= len(words) <= 3 or any(w.casefold().strip("'’") in _EN_STOP for w in words):
            continue
        if any(w.casefold() in _EN_LEAD for w in words):
            continue
        name = " ".join(words)
        begin = sentence.index(words[0], match.start(1))
        found.append((begin, begin + len(name), name))
    return found


def persian_names(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of the two-word names after a cue, and of the names listed after them."""
    words = [(m.start(), m.end(), m.group().strip("\u200c")) for m in _FA_WORD.finditer(sentence)]
    keys = [_fa_key(w) for _, _, w in words]
    found = []
    index = 0
    while index < len(words):
        cue = next((c for c in _FA_CUE_KEYS if keys[index:index + len(c)] == c), None)
        if cue is None:
            index += 1
            continue
        index += len(cue)
        while index + 1 < len(words):
            first, second = words[index][2], words[index + 1][2]
            if {keys[index], keys[index + 1]} & _FA_STOP_KEYS or len(first) < 2 or len(second) < 2:
                break
            found.append((words[index][0], words[index + 1][1], f"{first} {second}"))
            index += 2
            if index < len(words) and keys[index] == "و":
                index += 1
                continue
            between = sentence[words[index - 1][1]:words[index][0]] if index < len(words) else ""
            if "،" not in between and "," not in between:
                break
    return found


def names_in(title: str, text: str, spans: Sequence[Any]) -> list[str]:
    """Candidate person names in an item, minus those overlapping the engine's evidence spans."""
    taken = _span_ranges(spans)
    out = []
    for offset, sentence in [(-1, title), *_sentences_around(text, spans)]:
        for start, end, name in english_names(sentence) + persian_names(sentence):
            absolute = (offset + start, offset + end)
            if offset >= 0 and any(a < absolute[1] and absolute[0] < b for a, b in taken):
                continue
            out.append(name)
    return out


def _near(key: str, known: Iterable[str]) -> bool:
    return any(key == other or difflib.SequenceMatcher(None, key, other).ratio() >= 0.85 for other in known)


@dataclass(frozen=True)
class Proposal:
    key: str
    name: str
    event_types: list[str]
    item_ids: list[int]
    source_ids: list[str]
    first_seen_at: datetime
    last_seen_at: datetime


def propose(config: ProposalConfig, reports: Iterable[Report], texts: dict[int, tuple[str, str]],
            known: Iterable[str], *, now: datetime) -> list[Proposal]:
    """Unknown names seen often enough in the configured event types (see the module docstring)."""
    known_keys = {fold_name(k) for k in known}
    ignored = {fold_name(n) for n in config.ignore}
    candidates: dict[str, Candidate] = {}
    for report in reports:
        if report.event_type not in config.events or now - report.at > config.within or report.at > now:
            continue
        title, text = texts.get(report.item_id, ("", ""))
        for name in dict.fromkeys(names_in(title, text, report.spans)):
            key = fold_name(name)
            if key in ignored or _near(key, known_keys):
                continue
            candidate = candidates.setdefault(key, Candidate(key))
            candidate.names.append(name)
            candidate.items.setdefault(report.item_id, report)
    out = []
    for key, candidate in sorted(candidates.items()):
        reports_of = sorted(candidate.items.values(), key=lambda r: (r.at, r.item_id))
        sources = sorted({r.source_id for r in reports_of})
        if len(reports_of) >= config.min_items and len(sources) >= config.min_sources:
            out.append(Proposal(key, candidate.name, sorted({r.event_type for r in reports_of}),
                                [r.item_id for r in reports_of], sources, reports_of[0].at, reports_of[-1].at))
    return out
