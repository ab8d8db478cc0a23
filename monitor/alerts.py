"""Turn matches into alerts: one alert per event, subject and time window, however many outlets report it.

The decision is pure bookkeeping on the session the caller owns; new or updated alerts write their
deliveries (the outbox) in that same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from config.schema import SEVERITY_RANK, ChannelConfig
from storage.models import Alert, Delivery, Item, Match, utcnow

SUBJECT_KEYS = ("persons", "prison_to", "prisons", "places")


@dataclass(frozen=True)
class AlertDecision:
    alert_id: int
    created: bool
    changed: bool  # a new source joined (updates are sent only to channels that want them)


def main_subject(entities: dict[str, object]) -> str | None:
    """The person (or else the prison, or place) an event is about."""
    for key in SUBJECT_KEYS:
        value = entities.get(key)
        if isinstance(value, list) and value:
            return str(value[0])
        if isinstance(value, str) and value:
            return value
    return None


def event_time(item: Item) -> datetime:
    return item.published_at or item.fetched_at


def channel_wants(channel: ChannelConfig, alert: Alert, *, tags: list[str], lang: str | None) -> bool:
    if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[channel.min_severity]:
        return False
    if channel.events is not None and alert.event_type not in channel.events:
        return False
    if channel.tags is not None and not set(channel.tags) & set(tags):
        return False
    return channel.languages is None or lang in channel.languages


def _open_alert(session: Session, event_type: str, subject: str, when: datetime, config: TocsinConfig) -> Alert | None:
    window = config.settings.alerts.dedup_window
    query = (
        select(Alert)
        .where(Alert.event_type == event_type, Alert.subject == subject, Alert.kind == "event",
               Alert.last_seen_at >= when - window, Alert.first_seen_at <= when + window)
        .order_by(Alert.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _title(match: Match, item: Item, subject: str | None) -> str:
    label = match.event_type.replace("_", " ")
    return f"{label}: {subject}" if subject else f"{label}: {item.title or item.url}"


def _queue_deliveries(session: Session, alert: Alert, item: Item, config: TocsinConfig, *, kind: str) -> None:
    tags = list(item.source.tags) if item.source else []
    for name, channel in config.enabled_channels().items():
        if kind == "update" and not channel.updates:
            continue
        if channel_wants(channel, alert, tags=tags, lang=item.lang):
            session.add(Delivery(alert_id=alert.id, channel=name, revision=alert.revision, kind=kind,
                                 next_attempt_at=utcnow()))


def fold_match(session: Session, match: Match, item: Item, config: TocsinConfig) -> AlertDecision:
    """Attach ``match`` to its alert, creating the alert (and its outbox rows) when it is news."""
    subject = main_subject(match.entities)
    when = event_time(item)
    existing = _open_alert(session, match.event_type, subject, when, config) if subject else None
    if existing is None and subject is None:
        existing = session.scalars(select(Alert).where(
            Alert.dedup_key == f"{match.event_type}|item|{item.content_sha256[:24]}")).first()
    escalates = existing is not None and SEVERITY_RANK[match.severity] > SEVERITY_RANK[existing.severity]
    if existing is not None and not escalates:
        known_items = {m.item_id for m in existing.matches}
        match.alert_id = existing.id
        existing.last_seen_at = max(existing.last_seen_at, when)
        if item.id in known_items:
            return AlertDecision(existing.id, created=False, changed=False)
        existing.revision += 1
        if existing.state == "new":
            existing.state = "updated"
        session.flush()
        _queue_deliveries(session, existing, item, config, kind="update")
        return AlertDecision(existing.id, created=False, changed=True)
    key = (f"{match.event_type}|{subject}|{when:%Y-%m-%d}|{match.severity}" if subject
           else f"{match.event_type}|item|{item.content_sha256[:24]}")
    alert = Alert(
        dedup_key=key,
        kind="event",
        event_type=match.event_type,
        severity=match.severity,
        subject=subject,
        title=_title(match, item, subject),
        summary=item.title,
        details={"rule": match.rule_id, "entities": match.entities},
        first_seen_at=when,
        last_seen_at=when,
    )
    session.add(alert)
    session.flush()
    match.alert_id = alert.id
    session.flush()
    _queue_deliveries(session, alert, item, config, kind="new")
    return AlertDecision(alert.id, created=True, changed=True)
