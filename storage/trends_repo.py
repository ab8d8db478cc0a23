"""Repository functions for the early-warning analysis; each takes a Session and never commits.

Reads are column selections (never the item text) so the analysis can load a year of matches cheaply.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Alert,
    CaseEvent,
    CaseFile,
    Item,
    Match,
    Source,
    TrendState,
    WatchlistProposal,
    utcnow,
)


@dataclass(frozen=True)
class MatchRow:
    """One stored match with the facts about its item the analysis needs."""

    match_id: int
    item_id: int
    item_version: int
    event_type: str
    severity: str
    entities: dict[str, Any]
    spans: list[Any]
    duplicate_of: int | None
    source_id: str
    source_tags: tuple[str, ...]
    url: str
    title: str
    lang: str | None
    at: datetime  # published, else fetched


def _item_time_at_least(since: datetime) -> Any:
    return or_(Item.published_at >= since, and_(Item.published_at.is_(None), Item.fetched_at >= since))


def _item_time_at_most(until: datetime) -> Any:
    return or_(Item.published_at <= until, and_(Item.published_at.is_(None), Item.fetched_at <= until))


def match_rows(session: Session, *, until: datetime, since: datetime | None = None,
               event_types: Collection[str] | None = None) -> list[MatchRow]:
    """Matches of items published (else fetched) in ``[since, until]``, optionally of some event types.

    Matches in a dismissed alert are left out: a person said the alert was a false positive, so its
    reports count in no trend, surge, ladder or case file.
    """
    query = (
        select(Match.id, Match.item_id, Match.item_version, Match.event_type, Match.severity, Match.entities,
               Match.spans, Match.duplicate_of_item_id, Item.source_id, Item.url, Item.title, Item.lang,
               Item.published_at, Item.fetched_at, Source.tags)
        .join(Item, Item.id == Match.item_id)
        .outerjoin(Source, Source.id == Item.source_id)
        .outerjoin(Alert, Alert.id == Match.alert_id)
        .where(_item_time_at_most(until), or_(Alert.id.is_(None), Alert.state != "dismissed"))
        .order_by(Match.id)
    )
    if since is not None:
        query = query.where(_item_time_at_least(since))
    if event_types is not None:
        query = query.where(Match.event_type.in_(sorted(event_types)))
    return [
        MatchRow(match_id=row[0], item_id=row[1], item_version=row[2], event_type=row[3], severity=row[4],
                 entities=dict(row[5] or {}), spans=list(row[6] or []), duplicate_of=row[7], source_id=row[8],
                 source_tags=tuple(str(t) for t in (row[14] or [])), url=row[9], title=row[10] or "",
                 lang=row[11], at=row[12] or row[13])
        for row in session.execute(query)
    ]


def first_report_at(session: Session, *, until: datetime) -> datetime | None:
    """When the earliest item with a match was published (else fetched): where the history starts."""
    published = session.scalar(select(func.min(Item.published_at)).join(Match, Match.item_id == Item.id)
                               .where(_item_time_at_most(until)))
    fetched = session.scalar(select(func.min(Item.fetched_at)).join(Match, Match.item_id == Item.id)
                             .where(Item.published_at.is_(None), Item.fetched_at <= until))
    found = [value for value in (published, fetched) if value is not None]
    return min(found) if found else None


def item_texts(session: Session, item_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Title and text of the given items (for name extraction)."""
    ids = sorted(set(item_ids))
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        for item_id, title, text in session.execute(
                select(Item.id, Item.title, Item.text).where(Item.id.in_(ids[start:start + 500]))):
            out[item_id] = (title or "", text or "")
    return out


# --- state --------------------------------------------------------------------------------------------


def get_state(session: Session, name: str) -> dict[str, Any] | None:
    row = session.get(TrendState, name)
    return dict(row.value) if row is not None else None


def set_state(session: Session, name: str, value: dict[str, Any]) -> None:
    row = session.get(TrendState, name)
    if row is None:
        session.add(TrendState(name=name, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    session.flush()


# --- alerts raised by the analysis --------------------------------------------------------------------


def alerts_with_key_prefix(session: Session, prefix: str) -> list[tuple[str, datetime, int]]:
    """(dedup_key, first_seen_at, id) of the alerts whose key starts with ``prefix``."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(Alert.dedup_key, Alert.first_seen_at, Alert.id).where(
        Alert.dedup_key.like(f"{escaped}%", escape="\\")).order_by(Alert.id)
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def alert_exists(session: Session, dedup_key: str) -> bool:
    return session.scalar(select(Alert.id).where(Alert.dedup_key == dedup_key)) is not None


def alerts_of_kind(session: Session, kinds: Sequence[str], *, since: datetime | None = None) -> list[Alert]:
    query = select(Alert).where(Alert.kind.in_(list(kinds))).order_by(Alert.first_seen_at, Alert.id)
    if since is not None:
        query = query.where(Alert.first_seen_at >= since)
    return list(session.scalars(query))


# --- case files ---------------------------------------------------------------------------------------


def upsert_case_file(session: Session, person: str, **values: Any) -> CaseFile:
    row = session.get(CaseFile, person)
    if row is None:
        row = CaseFile(person=person)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    return row


def replace_case_events(session: Session, person: str, events: Iterable[CaseEvent], *,
                        since: datetime | None) -> None:
    """Replace ``person``'s case events from ``since`` on (all of them when ``since`` is None)."""
    condition = CaseEvent.person == person
    if since is not None:
        condition = and_(condition, CaseEvent.occurred_at >= since)
    session.execute(delete(CaseEvent).where(condition))
    session.add_all(list(events))
    session.flush()


def case_files(session: Session, *, min_rank: int = 0) -> list[CaseFile]:
    query = (select(CaseFile).where(CaseFile.risk_rank >= min_rank)
             .order_by(CaseFile.risk_rank.desc(), CaseFile.last_event_at.desc(), CaseFile.person))
    return list(session.scalars(query))


def find_case_file(session: Session, person: str) -> CaseFile | None:
    """Exact name first, then case-insensitive, then a unique substring."""
    row = session.get(CaseFile, person)
    if row is not None:
        return row
    wanted = person.casefold()
    rows = list(session.scalars(select(CaseFile)))
    exact = [r for r in rows if r.person.casefold() == wanted]
    partial = [r for r in rows if wanted in r.person.casefold()]
    found = exact or partial
    return found[0] if len(found) == 1 else None


def case_events(session: Session, person: str) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.person == person)
                                .order_by(CaseEvent.occurred_at, CaseEvent.id)))


# --- watchlist proposals ------------------------------------------------------------------------------


def upsert_proposal(session: Session, name_key: str, **values: Any) -> WatchlistProposal:
    """Create or refresh a proposal; a decision already taken (accepted/dismissed) is kept."""
    row = session.get(WatchlistProposal, name_key)
    if row is None:
        row = WatchlistProposal(name_key=name_key, status="proposed")
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    return row


def proposals(session: Session, *, status: str | None = "proposed") -> list[WatchlistProposal]:
    query = select(WatchlistProposal).order_by(WatchlistProposal.mentions.desc(), WatchlistProposal.name)
    if status is not None:
        query = query.where(WatchlistProposal.status == status)
    return list(session.scalars(query))
