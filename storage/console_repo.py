"""Queries of the analyst console: the alert queue with its facets, users, tokens, sessions, the audit log
and saved filters. Each function takes a Session and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.alerts_repo import EVENT_KINDS
from storage.console_models import ApiToken, AuditEntry, SavedFilter, User, WebSession
from storage.models import Alert, Item, Match

# The queue's state facet: "triage" is what nobody has looked at yet.
STATE_GROUPS: dict[str, tuple[str, ...]] = {
    "triage": ("new", "updated"),
    "escalated": ("escalated",),
    "acknowledged": ("acknowledged",),
    "dismissed": ("dismissed",),
    "all": ("new", "updated", "escalated", "acknowledged", "dismissed"),
}
FACETS = ("state", "event", "severity", "source", "lang", "person")


@dataclass(frozen=True)
class QueueFilter:
    """What the queue, the API's alert list and an Atom feed show; ``None`` means any."""

    state: str = "triage"
    event: str | None = None
    severity: str | None = None
    source: str | None = None
    lang: str | None = None
    person: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = None  # "new since I last looked"

    def without(self, facet: str) -> QueueFilter:
        changes: dict[str, Any] = {facet: "all" if facet == "state" else None}
        return replace(self, **changes)

    def to_query(self) -> dict[str, Any]:
        """The non-default values, as strings (a saved filter, a URL's query string)."""
        out: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None and not (field.name == "state" and value == "triage"):
                out[field.name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def _items_of(column: Any, value: str) -> Any:
    return select(Match.alert_id).join(Item, Item.id == Match.item_id).where(column == value)


def _filtered(query: Any, queue: QueueFilter) -> Any:
    """``query`` (a select of alerts or of their columns) narrowed to what ``queue`` shows."""
    query = query.where(Alert.kind.in_(EVENT_KINDS), Alert.state.in_(STATE_GROUPS.get(queue.state, ())))
    if queue.event:
        query = query.where(Alert.event_type == queue.event)
    if queue.severity:
        query = query.where(Alert.severity == queue.severity)
    if queue.person:
        query = query.where(Alert.subject == queue.person)
    if queue.source:
        query = query.where(Alert.id.in_(_items_of(Item.source_id, queue.source)))
    if queue.lang:
        query = query.where(Alert.id.in_(_items_of(Item.lang, queue.lang)))
    if queue.since:
        query = query.where(Alert.last_seen_at >= queue.since)
    if queue.until:
        query = query.where(Alert.first_seen_at <= queue.until)
    if queue.after_id is not None:
        query = query.where(Alert.id > queue.after_id)
    return query


def queue_alerts(session: Session, queue: QueueFilter, *, limit: int = 50, offset: int = 0) -> list[Alert]:
    """The alerts the filter selects, newest first."""
    query = _filtered(select(Alert), queue).order_by(Alert.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def queue_count(session: Session, queue: QueueFilter) -> int:
    return int(session.scalar(_filtered(select(func.count(Alert.id)), queue)) or 0)


def queue_facets(session: Session, queue: QueueFilter) -> dict[str, list[tuple[str, int]]]:
    """For each facet, its values and how many alerts each would show (the other facets applied)."""
    facets: dict[str, list[tuple[str, int]]] = {}
    for facet, column in (("event", Alert.event_type), ("severity", Alert.severity), ("person", Alert.subject)):
        query = _filtered(select(column, func.count(Alert.id)), queue.without(facet)).group_by(column)
        facets[facet] = sorted(((str(v), int(n)) for v, n in session.execute(query) if v), key=lambda r: -r[1])
    states = _filtered(select(Alert.state, func.count(Alert.id)), queue.without("state")).group_by(Alert.state)
    by_state = {str(v): int(n) for v, n in session.execute(states)}
    facets["state"] = [(group, sum(by_state.get(s, 0) for s in members)) for group, members in STATE_GROUPS.items()]
    for facet, column in (("source", Item.source_id), ("lang", Item.lang)):
        alerts = _filtered(select(Alert.id), queue.without(facet)).subquery()
        query = (select(column, func.count(func.distinct(Match.alert_id)))
                 .join(Item, Item.id == Match.item_id)
                 .where(Match.alert_id.in_(select(alerts.c.id))).group_by(column))
        facets[facet] = sorted(((str(v), int(n)) for v, n in session.execute(query) if v), key=lambda r: -r[1])
    return facets


def newest_alert_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Alert.id)).where(Alert.kind.in_(EVENT_KINDS))) or 0)


def alert_langs(session: Session, alert_ids: Sequence[int]) -> dict[int, list[str]]:
    """The languages of each alert's reports."""
    if not alert_ids:
        return {}
    rows = session.execute(select(Match.alert_id, Item.lang).join(Item, Item.id == Match.item_id)
                           .where(Match.alert_id.in_(list(alert_ids))).distinct())
    found: dict[int, list[str]] = {}
    for alert_id, lang in rows:
        if alert_id is not None and lang:
            found.setdefault(int(alert_id), []).append(str(lang))
    return found


# --- users, tokens, sessions ------------------------------------------------------------------------


def user_by_name(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name)).one_or_none()


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).one_or_none()


def live_tokens(session: Session, user_id: int, *, scope: str, filter_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.scope == scope,
                                   ApiToken.revoked_at.is_(None))
    if filter_id is not None:
        query = query.where(ApiToken.filter_id == filter_id)
    return list(session.scalars(query.order_by(ApiToken.id)))


def session_by_hash(session: Session, id_hash: str) -> WebSession | None:
    return session.get(WebSession, id_hash)


def end_sessions(session: Session, *, user_id: int | None = None, expired_before: datetime | None = None) -> int:
    """Delete a user's sessions, or every session that expired before ``expired_before``."""
    query = delete(WebSession)
    if user_id is not None:
        query = query.where(WebSession.user_id == user_id)
    if expired_before is not None:
        query = query.where(WebSession.expires_at < expired_before)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


# --- the audit log and saved filters ------------------------------------------------------------------


def add_audit(session: Session, *, actor: str, action: str, alert_id: int | None = None,
              target: str | None = None, detail: dict[str, Any] | None = None, at: datetime | None = None
              ) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, alert_id=alert_id, target=target, detail=detail or {})
    if at is not None:
        entry.at = at
    session.add(entry)
    session.flush()
    return entry


def alert_audit(session: Session, alert_id: int) -> list[AuditEntry]:
    """What people did to an alert, oldest first."""
    query = select(AuditEntry).where(AuditEntry.alert_id == alert_id).order_by(AuditEntry.id)
    return list(session.scalars(query))


def last_actions(session: Session, alert_ids: Sequence[int]) -> dict[int, AuditEntry]:
    """The latest audit entry of each alert (who triaged it, and when)."""
    if not alert_ids:
        return {}
    latest = (select(func.max(AuditEntry.id)).where(AuditEntry.alert_id.in_(list(alert_ids)))
              .group_by(AuditEntry.alert_id))
    rows = session.scalars(select(AuditEntry).where(AuditEntry.id.in_(latest)))
    return {int(entry.alert_id): entry for entry in rows if entry.alert_id is not None}


def recent_audit(session: Session, *, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))


def saved_filters(session: Session, user_id: int) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user_id)
                                .order_by(SavedFilter.name)))


def saved_filter(session: Session, user_id: int, name: str) -> SavedFilter | None:
    query = select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.name == name)
    return session.scalars(query).one_or_none()
