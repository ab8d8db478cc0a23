"""From stored matches to dated events: what each item reports, and which reports are the same event.

A *report* is what one item says about one event type (all of its matches of that type merged). An *event*
is one real-world occurrence: the reports of it from several outlets (and languages) merged. Counting events,
not articles, is what keeps "9 prisoners executed" reported by five outlets a count of 9, not 45.

Two reports of one type are the same event when they are at most ``dedup.window`` apart (measured from the
event's first report) and

1. one item is a near-copy of the other (``Match.duplicate_of_item_id``), or
2. they name a common person, or
3. neither names a person the other does not share, they come from different outlets, they name a common
   prison or place, and their counts agree (or one gives none), or
4. neither names a person or a location, they come from different outlets and give the same count.

An event's count is the largest count among its reports. Each report *contributes* the increase it brings to
its event's count, on the day it was published: the first report brings the whole count, a duplicate brings 0.
Reports are processed in publication order, so the contributions up to a day depend only on the reports
published up to that day: the property that makes a backfill give the same verdicts as a live run.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from storage.trends_repo import MatchRow

PERSIAN_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا",
                              "\u200c": " ", "\u200d": "", "\u0640": "", "-": " ", "‐": " ", "_": " "})
PRISON_WORDS = {"prison", "prisons", "jail", "زندان", "central", "مرکزی"}


@lru_cache(maxsize=8192)
def fold_name(name: str) -> str:
    """A comparison key for names in either script: case, Arabic letter forms, ZWNJ, hyphens ignored."""
    text = unicodedata.normalize("NFKC", name).translate(PERSIAN_FOLD).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(text.split())


@lru_cache(maxsize=8192)
def fold_location(name: str) -> str:
    """Like :func:`fold_name`, also dropping the word "prison" so "Zahedan Prison" == "Zahedan"."""
    words = [word for word in fold_name(name).split() if word not in PRISON_WORDS]
    return " ".join(words) or fold_name(name)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if isinstance(v, str | int) and str(v).strip()]
    return []


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value, value)
    return tuple(seen)


@dataclass(frozen=True)
class Report:
    """What one item says about one event type."""

    item_id: int
    source_id: str
    source_tags: tuple[str, ...]
    url: str
    title: str
    lang: str | None
    at: datetime
    event_type: str
    severity: str
    count: int | None
    persons: tuple[str, ...]
    prisons: tuple[str, ...]
    places: tuple[str, ...]
    entities: dict[str, Any]
    duplicate_of: int | None
    match_ids: tuple[int, ...]
    spans: tuple[Any, ...] = ()

    @property
    def size(self) -> int:
        """How many people the report is about: its count, else the persons it names, else one."""
        return max(self.count or 0, len(self.persons), 1)

    @cached_property
    def locations(self) -> frozenset[str]:
        return frozenset(fold_location(name) for name in (*self.prisons, *self.places))

    def is_statistic(self, max_count: int) -> bool:
        """A count too large for one event ("1,400 executions in a year") is a summary, not news."""
        return self.count is not None and self.count > max_count

    def source_ref(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "source_id": self.source_id, "url": self.url, "title": self.title,
                "lang": self.lang, "at": self.at.isoformat()}


SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


def reports_from_rows(rows: Iterable[MatchRow]) -> list[Report]:
    """Merge each item's matches per event type (latest matched version only) into reports, oldest first."""
    latest: dict[int, int] = {}
    rows = list(rows)
    for row in rows:
        latest[row.item_id] = max(latest.get(row.item_id, 0), row.item_version)
    grouped: dict[tuple[int, str], list[MatchRow]] = {}
    for row in rows:
        if row.item_version == latest[row.item_id]:
            grouped.setdefault((row.item_id, row.event_type), []).append(row)
    reports = [_merge(group) for group in grouped.values()]
    reports.sort(key=lambda r: (r.at, r.item_id, r.event_type))
    return reports


def _merge(group: Sequence[MatchRow]) -> Report:
    first = group[0]
    persons: list[str] = []
    prisons: list[str] = []
    places: list[str] = []
    counts: list[int] = []
    merged: dict[str, Any] = {}
    spans: list[Any] = []
    for row in sorted(group, key=lambda r: r.match_id):
        entities = row.entities or {}
        persons += _strings(entities.get("persons"))
        prisons += _strings(entities.get("prisons")) + _strings(entities.get("prison_to"))
        places += _strings(entities.get("places"))
        if (count := _count(entities.get("count"))) is not None:
            counts.append(count)
        for key in ("prison_from", "prison_to", "courts", "branch", "charges"):
            for value in _strings(entities.get(key)):
                values = merged.setdefault(key, [])
                if value not in values:
                    values.append(value)
        spans += list(row.spans or [])
    severity = max((row.severity for row in group), key=lambda s: SEVERITY_ORDER.get(s, 0))
    return Report(
        item_id=first.item_id, source_id=first.source_id, source_tags=tuple(first.source_tags), url=first.url,
        title=first.title, lang=first.lang, at=first.at, event_type=first.event_type, severity=severity,
        count=max(counts) if counts else None, persons=_unique(persons), prisons=_unique(prisons),
        places=_unique(places), entities=merged,
        duplicate_of=next((r.duplicate_of for r in group if r.duplicate_of), None),
        match_ids=tuple(sorted(r.match_id for r in group)), spans=tuple(spans),
    )


@dataclass
class Event:
    """One occurrence, with every report of it."""

    event_type: str
    first_at: datetime
    last_at: datetime
    count: int
    reports: list[Report] = field(default_factory=list)

    @property
    def persons(self) -> set[str]:
        return {p for r in self.reports for p in r.persons}

    @property
    def locations(self) -> set[str]:
        return {loc for r in self.reports for loc in r.locations}

    @property
    def prisons(self) -> tuple[str, ...]:
        return _unique(p for r in self.reports for p in r.prisons)

    @property
    def places(self) -> tuple[str, ...]:
        return _unique(p for r in self.reports for p in r.places)

    def accepts(self, report: Report, *, one_per_source: bool = False) -> bool:
        """Whether ``report`` tells of this event (the rules in the module docstring). With
        ``one_per_source``, a second report from the same outlet is a new event even when it names the same
        person (a person's timeline: an outlet does not announce one transfer twice)."""
        if report.duplicate_of is not None and any(r.item_id == report.duplicate_of for r in self.reports):
            return True
        same_source = any(r.source_id == report.source_id for r in self.reports)
        persons = self.persons
        if report.persons and persons:
            return bool(set(report.persons) & persons) and not (one_per_source and same_source)
        if same_source:
            return False
        counts = {r.count for r in self.reports if r.count is not None}
        counts_agree = report.count is None or not counts or report.count in counts
        locations = self.locations
        if report.locations or locations:
            return bool(report.locations & locations) and counts_agree
        return report.count is not None and report.count in counts


@dataclass(frozen=True)
class Contribution:
    """What one report adds to its event's count, dated by the report."""

    report: Report
    event: Event
    amount: int
    prisons: tuple[str, ...]
    places: tuple[str, ...]


def cluster(reports: Iterable[Report], *, window: timedelta, max_count: int, one_per_source: bool = False
            ) -> tuple[list[Event], list[Contribution]]:
    """Group reports (oldest first) into events; statistics above ``max_count`` are left out.
    ``one_per_source``: see :meth:`Event.accepts`."""
    events: list[Event] = []
    open_events: dict[str, list[Event]] = {}
    contributions: list[Contribution] = []
    for report in reports:
        if report.is_statistic(max_count):
            continue
        candidates = open_events.setdefault(report.event_type, [])
        candidates[:] = [e for e in candidates if report.at - e.first_at <= window]
        event = next((e for e in reversed(candidates) if e.accepts(report, one_per_source=one_per_source)),
                     None)
        if event is None:
            event = Event(report.event_type, report.at, report.at, 0)
            events.append(event)
            candidates.append(event)
        before = event.count
        event.reports.append(report)
        event.count = max(before, report.size)
        event.last_at = max(event.last_at, report.at)
        contributions.append(Contribution(report, event, event.count - before, event.prisons, event.places))
    return events, contributions
