"""Item and match streams written for the early-warning tests, and a writer that stores them for real.

A stream is a list of :class:`Planned` reports (what an outlet published, when, and what the rules engine
would have extracted from it) plus the ground truth behind them (:class:`TrueEvent`). Tests insert Source,
Item and Match rows directly into a migrated SQLite file, either all at once (a backfill) or day by day
(live), and compare what the analysis says with the truth.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from storage.db import Database
from storage.models import Item, Match, Source

TEHRAN = ZoneInfo("Asia/Tehran")

SOURCES: dict[str, dict[str, Any]] = {
    "iranhrm": {"lang": "en", "tags": ["rights"]},
    "hrana": {"lang": "en", "tags": ["rights"]},
    "hengaw": {"lang": "en", "tags": ["rights", "kurdish"]},
    "hrana_fa": {"lang": "fa", "tags": ["rights"]},
    "kurdpa_fa": {"lang": "fa", "tags": ["rights", "kurdish"]},
    "fars": {"lang": "fa", "tags": ["state_media"]},
    "tasnim": {"lang": "fa", "tags": ["state_media"]},
    "kayhan": {"lang": "fa", "tags": ["state_media"]},
}
RIGHTS_OUTLETS = ["iranhrm", "hrana", "hengaw", "hrana_fa", "kurdpa_fa"]
STATE_OUTLETS = ["fars", "tasnim", "kayhan"]

# Prisons as the watchlist gazetteer names them, with their province in the shipped early_warning.yaml.
PRISONS: dict[str, str] = {
    "Qezel Hesar": "Alborz", "Zahedan": "Sistan and Baluchestan", "Isfahan": "Isfahan",
    "Shiraz": "Fars", "Mashhad": "Razavi Khorasan", "Urmia": "West Azerbaijan",
    "Kermanshah": "Kermanshah", "Qazvin": "Qazvin", "Yazd": "Yazd", "Arak": "Markazi",
    "Tabriz": "East Azerbaijan", "Sanandaj": "Kurdistan", "Bandar Abbas": "Hormozgan",
    "Gorgan": "Golestan", "Aligudarz": "Lorestan", "Rasht": "Gilan", "Zanjan": "Zanjan",
    "Hamadan": "Hamadan", "Semnan": "Semnan", "Ardabil": "Ardabil",
}
PRISON_WEIGHTS = [5, 3, 2, 2, 3, 2, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1]
SPACING = timedelta(days=4, hours=14)  # the default dedup window (3d) plus the longest reporting delay


@dataclass
class Planned:
    """One item as an outlet published it, and the match the rules engine would have stored."""

    source_id: str
    at: datetime
    event_type: str
    entities: dict[str, Any]
    title: str
    text: str = ""
    severity: str = "warning"
    spans: list[Any] = field(default_factory=list)
    rule_id: str | None = None
    extra_matches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (event_type, entities)
    duplicate_of: int | None = None  # index into the stream of the planned item this is a near-copy of

    @property
    def lang(self) -> str:
        return str(SOURCES[self.source_id]["lang"])


@dataclass(frozen=True)
class TrueEvent:
    """What really happened: ``size`` executions at ``places`` first reported at ``first_reported``."""

    event_type: str
    size: int
    prisons: tuple[str, ...]
    first_reported: datetime


@dataclass
class Stream:
    planned: list[Planned] = field(default_factory=list)
    truth: list[TrueEvent] = field(default_factory=list)

    def sorted(self) -> list[Planned]:
        return sorted(self.planned, key=lambda p: (p.at, p.source_id, p.title))


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TEHRAN).astimezone(UTC)


def _batch_size(rng: random.Random) -> int:
    """Executions come in batches: mostly one or two, sometimes a mass execution."""
    roll = rng.random()
    if roll < 0.45:
        return 1
    if roll < 0.67:
        return 2
    if roll < 0.80:
        return 3
    if roll < 0.93:
        return rng.randint(4, 6)
    return rng.randint(7, 10)


def execution_stream(*, start: date, quiet_days: int, surge_days: int, quiet_rate: float, surge_rate: float,
                     seed: int = 7, surge_prison: str = "Qezel Hesar") -> Stream:
    """Executions at seed scale (``quiet_rate`` batches a day, ~1,400 executions a year), then a surge.

    Each batch happens at one prison (sometimes two or three, count split) and is reported by one to three
    outlets within a day and a half, in English or Persian; later outlets sometimes omit the count. Batches
    at one prison are kept apart by more than the dedup window plus the reporting delay, so the truth is
    unambiguous (the dedup rules' known blind spot is tested separately). Noise: yearly statistics ("1,400
    executions in a year") that must never be counted.
    """
    rng = random.Random(seed)
    stream = Stream()
    last_at: dict[str, datetime] = {}
    for offset in range(quiet_days + surge_days):
        day = start + timedelta(days=offset)
        surging = offset >= quiet_days
        batches = _poisson(rng, surge_rate if surging else quiet_rate)
        for _ in range(batches):
            happened = local_midnight(day) + timedelta(hours=rng.uniform(4, 10))
            prisons = rng.choices(list(PRISONS), weights=PRISON_WEIGHTS, k=rng.choice([1, 1, 1, 1, 2, 3]))
            prisons = list(dict.fromkeys(prisons))
            if any(happened - last_at.get(p, happened - timedelta(days=9)) < SPACING for p in prisons):
                continue  # keep batches at one prison apart (see docstring)
            for p in prisons:
                last_at[p] = happened
            size = _batch_size(rng)
            if surging:
                size += rng.randint(3, 7) + (rng.randint(8, 14) if surge_prison in prisons else 0)
            outlets = rng.sample(RIGHTS_OUTLETS, k=rng.choice([1, 1, 2, 2, 3]))
            delays = sorted(timedelta(hours=rng.uniform(1, 36)) for _ in outlets)
            stream.truth.append(TrueEvent("execution", size, tuple(prisons), happened + delays[0]))
            for number, (outlet, delay) in enumerate(zip(outlets, delays, strict=True)):
                # The first report gives the count; later ones sometimes leave it out.
                count: int | None = size if number == 0 or rng.random() < 0.8 else None
                lang = SOURCES[outlet]["lang"]
                title = (f"{size} prisoners executed in {', '.join(prisons)}" if lang == "en"
                         else f"اعدام {size} زندانی در {'، '.join(prisons)}")
                stream.planned.append(Planned(outlet, happened + delay, "execution",
                                              {"count": count, "prisons": prisons, "places": []}, title))
        if offset % 45 == 10:  # noise: a yearly statistic, not an event
            stream.planned.append(Planned(
                rng.choice(RIGHTS_OUTLETS), local_midnight(day) + timedelta(hours=12), "execution",
                {"count": 1400, "prisons": [], "places": []},
                "Nearly 1,400 executions since the president took office"))
    return stream


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StreamWriter:
    """Stores planned reports as Source, Item and Match rows (as crawling and matching would have)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.item_ids: dict[int, int] = {}  # id(planned) -> item id
        self._serial = 0
        with database.write() as session:
            for source_id, info in SOURCES.items():
                if session.get(Source, source_id) is None:
                    session.add(Source(id=source_id, kind="feed", name=source_id,
                                       url=f"http://127.0.0.1/{source_id}", tags=list(info["tags"])))

    def write(self, planned: Iterable[Planned], *, by_index: list[Planned] | None = None) -> list[int]:
        ids = []
        with self.database.write() as session:
            for plan in planned:
                self._serial += 1
                body = plan.text or plan.title
                item = Item(source_id=plan.source_id, url=f"http://127.0.0.1/{plan.source_id}/{self._serial}",
                            title=plan.title, text=body, lang=plan.lang, published_at=plan.at,
                            fetched_at=plan.at + timedelta(minutes=20), content_sha256=_sha(body + str(self._serial)),
                            version=1, matched_version=1)
                session.add(item)
                session.flush()
                duplicate_of = None
                if plan.duplicate_of is not None and by_index is not None:
                    duplicate_of = self.item_ids.get(id(by_index[plan.duplicate_of]))
                matches = [(plan.event_type, plan.entities), *plan.extra_matches]
                for number, (event_type, entities) in enumerate(matches):
                    session.add(Match(item_id=item.id, item_version=1,
                                      rule_id=plan.rule_id or f"{event_type}-{number}", event_type=event_type,
                                      severity=plan.severity, entities=entities, spans=plan.spans,
                                      duplicate_of_item_id=duplicate_of))
                self.item_ids[id(plan)] = item.id
                ids.append(item.id)
        return ids


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
