"""Measuring rules on a labelled corpus: precision, recall and F1 per event type and language.

A corpus is JSON lines in the format of ``tests/data/corpus/`` (``id``, ``text``, ``title``, ``lang``,
``labels``, ``optional_labels``). Only the event types that occur in the corpus's labels are scored:
a rule of another event type (``arrest``, ``watchlist``) is neither right nor wrong here. A fired
event listed in ``optional_labels`` counts for nothing either way.

Pure: the caller reads the file (``monitor.alerts.tuning.read_corpus``) and supplies the engine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from config.errors import CorpusError

if TYPE_CHECKING:
    from monitor.rules.engine import Document, RuleEngine

# The six event types of the shared labelling conventions (tests/data/corpus/README.md).
CORPUS_EVENTS = ("execution", "death_sentence", "review_rejected", "transfer", "rhetoric", "un_statement")
TUNING_SHARE = 0.70


class CorpusRow(BaseModel):
    """One labelled passage."""

    model_config = ConfigDict(extra="ignore")

    id: str
    text: str
    title: str | None = None
    lang: str | None = None
    url: str = ""
    labels: list[str] = []
    optional_labels: list[str] = []
    note: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _number_ids_are_fine(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def document(self) -> Document:
        from monitor.rules.engine import Document

        return Document(id=self.id, text=self.text, title=self.title or "", lang=self.lang)


def parse_corpus(text: str, source: str) -> list[CorpusRow]:
    """Every row of a JSON-lines corpus; a bad line raises CorpusError naming ``source:line``."""
    path = source
    lines = text.splitlines()
    rows: list[CorpusRow] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise CorpusError(f"{path}:{number}: expected a JSON object, got {type(data).__name__}")
        try:
            row = CorpusRow.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise CorpusError(f"{path}:{number}: {where}: {first['msg']}") from None
        if row.id in seen:
            raise CorpusError(f"{path}:{number}: id {row.id!r} already used on line {seen[row.id]}")
        seen[row.id] = number
        rows.append(row)
    if not rows:
        raise CorpusError(f"{path}: no passages")
    return rows


def corpus_part(url: str) -> str:
    """``tuning`` or ``check``: a stable hash of the page address, so passages of one page always
    land in the same part and a grown corpus never moves an old passage."""
    fraction = int(hashlib.sha256(url.encode("utf-8")).hexdigest()[:8], 16) / 2**32
    return "tuning" if fraction < TUNING_SHARE else "check"


# ---------------------------------------------------------------------------------------- scoring
@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def to_json(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.support,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass(frozen=True)
class Outcome:
    """What the rules did on one passage."""

    row: CorpusRow
    fired: dict[str, list[str]]  # scored event -> rule ids that fired it

    @property
    def false_positives(self) -> list[str]:
        return [e for e in self.fired if e not in self.row.labels and e not in self.row.optional_labels]

    @property
    def false_negatives(self) -> list[str]:
        return [e for e in self.row.labels if e not in self.fired]


@dataclass
class EvalReport:
    events: tuple[str, ...]
    languages: tuple[str, ...]
    outcomes: list[Outcome] = field(default_factory=list)
    counts: dict[tuple[str, str], Counts] = field(default_factory=dict)  # (event, lang) -> counts

    def total(self, event: str, lang: str | None = None) -> Counts:
        """Counts for one event, in one language or all."""
        out = Counts()
        for (ev, lg), counts in self.counts.items():
            if ev == event and (lang is None or lg == lang):
                out.add(counts)
        return out

    def macro_f1(self, lang: str | None = None) -> float:
        """The mean F1 over the scored event types (in one language, or all pooled)."""
        scores = [self.total(event, lang).f1 for event in self.events if self.total(event, lang).support
                  or self.total(event, lang).fp]
        return sum(scores) / len(scores) if scores else 0.0

    @property
    def hard_negatives_fired(self) -> list[Outcome]:
        """Passages that must trigger nothing, on which a scored event fired."""
        return [o for o in self.outcomes if not o.row.labels and o.false_positives]

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.false_positives or o.false_negatives]

    def to_json(self) -> dict[str, Any]:
        return {
            "passages": len(self.outcomes),
            "macro_f1": round(self.macro_f1(), 4),
            "macro_f1_by_language": {lang: round(self.macro_f1(lang), 4) for lang in self.languages},
            "events": {
                event: {
                    "all": self.total(event).to_json(),
                    **{lang: self.total(event, lang).to_json() for lang in self.languages},
                }
                for event in self.events
            },
            "hard_negatives": sum(1 for o in self.outcomes if not o.row.labels),
            "hard_negatives_fired": [
                {"id": o.row.id, "lang": o.row.lang, "fired": {e: o.fired[e] for e in o.false_positives}}
                for o in self.hard_negatives_fired
            ],
            "errors": [
                {
                    "id": o.row.id,
                    "lang": o.row.lang,
                    "false_positives": {e: o.fired[e] for e in o.false_positives},
                    "false_negatives": o.false_negatives,
                }
                for o in self.errors
            ],
        }


def scored_events(rows: Iterable[CorpusRow]) -> tuple[str, ...]:
    """The event types the corpus labels, the six standard ones first in their usual order."""
    found = {label for row in rows for label in (*row.labels, *row.optional_labels)}
    return tuple(e for e in CORPUS_EVENTS if e in found) + tuple(sorted(found - set(CORPUS_EVENTS)))


def evaluate_corpus(engine: RuleEngine, rows: Sequence[CorpusRow]) -> EvalReport:
    """Run ``engine`` over every passage and count, per event type and language, what it got right."""
    events = scored_events(rows)
    languages = tuple(sorted({row.lang or "?" for row in rows}))
    report = EvalReport(events, languages)
    for row in rows:
        fired: dict[str, list[str]] = {}
        for match in engine.match(row.document()):
            if match.event in events:
                fired.setdefault(match.event, []).append(match.rule_id)
        outcome = Outcome(row, fired)
        report.outcomes.append(outcome)
        lang = row.lang or "?"
        for event in events:
            counts = report.counts.setdefault((event, lang), Counts())
            if event in row.labels:
                if event in fired:
                    counts.tp += 1
                else:
                    counts.fn += 1
            elif event in fired and event not in row.optional_labels:
                counts.fp += 1
    return report


__all__ = [
    "CORPUS_EVENTS",
    "CorpusError",
    "CorpusRow",
    "Counts",
    "EvalReport",
    "Outcome",
    "corpus_part",
    "evaluate_corpus",
    "parse_corpus",
    "scored_events",
]
