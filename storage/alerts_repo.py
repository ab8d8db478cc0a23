"""Queries for alerts, their matches and the delivery outbox. Each takes a Session and never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, union
from sqlalchemy.orm import Session, aliased

from storage.models import Alert, Delivery, DeliveryAttempt, Item, Match

# What people list and act on: every alert kind but the bundles (digest|overflow are messages that carry
# other alerts). removal: a matched article deleted at its source; surge|escalation: the trend analysis's.
EVENT_KINDS = ("event", "removal", "surge", "escalation", "operator")
OPEN_STATES = ("new", "updated", "acknowledged")
FAILED_OUTCOMES = ("failed", "interrupted")  # attempts that count towards alerts.max_attempts
# Deliveries the dispatcher is done with (``dead`` until someone runs `tocsin alerts retry`).
FINAL_STATUSES = ("sent", "dead", "skipped", "folded")

# --- alerts ----------------------------------------------------------------------------------------


def alert_by_key(session: Session, dedup_key: str) -> Alert | None:
    return session.scalars(select(Alert).where(Alert.dedup_key == dedup_key)).one_or_none()


def unused_key(session: Session, key: str) -> str:
    """``key``, or ``key#2``, ``key#3``... if an older alert (outside the window) already has it."""
    candidate, n = key, 1
    while alert_by_key(session, candidate) is not None:
        n += 1
        candidate = f"{key}#{n}"
    return candidate


def event_alerts_in_window(
    session: Session, *, event_type: str | None, subject_keys: Sequence[str], when: datetime,
    window: timedelta,
) -> list[Alert]:
    """Event alerts about any of these subjects seen within ``window`` of ``when``, newest first."""
    if not subject_keys:
        return []
    query = select(Alert).where(
        Alert.kind == "event",
        Alert.subject_key.in_(list(subject_keys)),
        Alert.last_seen_at >= when - window,
        Alert.first_seen_at <= when + window,
    )
    if event_type is not None:
        query = query.where(Alert.event_type == event_type)
    return list(session.scalars(query.order_by(Alert.id.desc())))


def item_in_alert(session: Session, *, alert_id: int, item_id: int) -> bool:
    """Whether any match of this item (any version, any rule) already belongs to the alert."""
    query = select(Match.id).where(Match.alert_id == alert_id, Match.item_id == item_id).limit(1)
    return session.scalar(query) is not None


def original_fingerprints(session: Session, alert_id: int) -> list[tuple[int, int | None]]:
    """(item id, stored fingerprint) of the alert's items that are not themselves copies."""
    query = (
        select(Item.id, Item.fingerprint)
        .join(Match, Match.item_id == Item.id)
        .where(Match.alert_id == alert_id, Match.duplicate_of_item_id.is_(None))
        .distinct()
    )
    return [(row[0], row[1]) for row in session.execute(query)]


def item_texts(session: Session, item_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """{item id: (title, text)} in one query."""
    if not item_ids:
        return {}
    rows = session.execute(select(Item.id, Item.title, Item.text).where(Item.id.in_(list(item_ids))))
    return {row[0]: (row[1], row[2]) for row in rows}


def recent_event_fingerprints(
    session: Session, *, event_type: str, since: datetime
) -> list[tuple[int, int, int | None]]:
    """(alert id, item id, fingerprint) of original items in event alerts of this type since ``since``."""
    query = (
        select(Alert.id, Item.id, Item.fingerprint)
        .join(Match, Match.alert_id == Alert.id)
        .join(Item, Item.id == Match.item_id)
        .where(Alert.kind == "event", Alert.event_type == event_type, Alert.last_seen_at >= since,
               Match.duplicate_of_item_id.is_(None))
        .distinct()
    )
    return [(row[0], row[1], row[2]) for row in session.execute(query)]


def latest_operator_alert(session: Session, key: str) -> Alert | None:
    query = select(Alert).where(Alert.kind == "operator", Alert.subject_key == key).order_by(Alert.id.desc())
    return session.scalars(query.limit(1)).first()


def list_alerts(
    session: Session,
    *,
    state: str | None = None,
    failed: bool = False,
    kinds: Sequence[str] = EVENT_KINDS,
    limit: int = 50,
) -> list[Alert]:
    """Alerts newest first; ``failed`` keeps those with a dead delivery (bundles count for their members)."""
    query = select(Alert).where(Alert.kind.in_(list(kinds)))
    if state:
        query = query.where(Alert.state == state)
    if failed:
        dead_bundles = select(Delivery.alert_id).where(Delivery.status == "dead")
        members = select(Delivery.alert_id).where(Delivery.bundle_id.in_(dead_bundles))
        query = query.where(Alert.id.in_(dead_bundles) | Alert.id.in_(members))
    return list(session.scalars(query.order_by(Alert.id.desc()).limit(limit)))


def alert_source_count(session: Session, alert_id: int) -> int:
    """Items behind an alert: its matched reports, or the removed article of a removal alert."""
    items = union(select(Match.item_id.label("item")).where(Match.alert_id == alert_id),
                  select(Item.id.label("item")).where(Item.removal_alert_id == alert_id)).subquery()
    return int(session.scalar(select(func.count()).select_from(items)) or 0)



def recent_alerts(session: Session, limit: int = 10) -> list[Alert]:
    """The newest alerts of every kind (bundles too), newest first."""
    return list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)))


def count_alerts(session: Session, *, kind: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Alert).where(Alert.kind == kind)) or 0)


def alert_reports(session: Session, alert_id: int) -> list[tuple[int, int | None]]:
    """(item id, id of the item it copies or None) of every match of an alert, oldest first."""
    rows = session.execute(
        select(Match.item_id, Match.duplicate_of_item_id).where(Match.alert_id == alert_id).order_by(Match.id)
    )
    return [(item_id, copy_of) for item_id, copy_of in rows]


def removal_alert_item(session: Session, alert_id: int) -> Item | None:
    """The item whose removal raised ``alert_id`` (linked by ``Item.removal_alert_id``)."""
    return session.scalars(select(Item).where(Item.removal_alert_id == alert_id).limit(1)).first()

# --- removals (monitor.alerts.removals) --------------------------------------------------------------------


def removed_items_to_alert(
    session: Session, *, since: datetime, item_ids: Sequence[int] | None = None, limit: int = 200
) -> list[int]:
    """Items removed at their source since ``since`` whose latest removal has no alert yet, oldest first.

    Only items that matched a rule count, and not when every match is in a dismissed alert. "No alert
    yet": no ``removal_alert_id``, or the alert it names last saw an earlier removal.
    """
    linked, event = aliased(Alert), aliased(Alert)
    live_match = (
        select(Match.id)
        .outerjoin(event, event.id == Match.alert_id)
        .where(Match.item_id == Item.id, or_(event.id.is_(None), event.state != "dismissed"))
        .exists()
    )
    query = (
        select(Item.id)
        .outerjoin(linked, linked.id == Item.removal_alert_id)
        .where(Item.status == "removed", Item.removed_at >= since, live_match,
               or_(linked.id.is_(None), linked.last_seen_at < Item.removed_at))
    )
    if item_ids is not None:
        query = query.where(Item.id.in_(list(item_ids)))
    return list(session.scalars(query.order_by(Item.removed_at, Item.id).limit(limit)))


def item_matches(session: Session, item_id: int) -> list[Match]:
    """Every match of an item (all versions), oldest first."""
    return list(session.scalars(select(Match).where(Match.item_id == item_id).order_by(Match.id)))


# --- dismissals, for the rules backtest -------------------------------------------------------------


@dataclass(frozen=True)
class DismissedMatch:
    item_id: int
    item_version: int
    rule_id: str
    event_type: str
    severity: str


@dataclass(frozen=True)
class DismissedAlert:
    """An alert a person marked as a false positive, with the matches that made it."""

    alert_id: int
    event_type: str
    severity: str
    subject: str | None
    title: str
    reason: str
    dismissed_at: datetime
    matches: tuple[DismissedMatch, ...]

    @property
    def rule_ids(self) -> frozenset[str]:
        return frozenset(m.rule_id for m in self.matches)

    @property
    def item_ids(self) -> frozenset[int]:
        return frozenset(m.item_id for m in self.matches)


def dismissed_alerts(session: Session, *, since: datetime | None = None) -> list[DismissedAlert]:
    """Every dismissed alert (oldest first) with its matches: which rule fired on which item version."""
    query = select(Alert).where(Alert.state == "dismissed", Alert.kind == "event")
    if since is not None:
        query = query.where(Alert.dismissed_at >= since)
    result = []
    for alert in session.scalars(query.order_by(Alert.id)):
        matches = tuple(
            DismissedMatch(m.item_id, m.item_version, m.rule_id, m.event_type, m.severity)
            for m in sorted(alert.matches, key=lambda m: m.id)
        )
        result.append(DismissedAlert(
            alert_id=alert.id, event_type=alert.event_type, severity=alert.severity, subject=alert.subject,
            title=alert.title, reason=alert.dismiss_reason or "",
            dismissed_at=alert.dismissed_at or alert.last_seen_at, matches=matches,
        ))
    return result


# --- the outbox ------------------------------------------------------------------------------------


def due_deliveries(
    session: Session, *, now: datetime, limit: int = 50, exclude_channels: Collection[str] = ()
) -> list[Delivery]:
    """Deliveries to look at now: pending or overflow and due, or left ``sending`` past their lease."""
    query = select(Delivery).where(
        Delivery.status.in_(["pending", "sending", "overflow"]), Delivery.next_attempt_at <= now)
    if exclude_channels:
        query = query.where(Delivery.channel.not_in(list(exclude_channels)))
    # Head-of-line per channel: while an older delivery to the same channel waits for its retry (it was
    # tried, it failed, its backoff runs), newer ones wait behind it; other channels are not held. The
    # waiting heads are few (an index range on status, next_attempt_at), so they are found first.
    heads = (select(Delivery.channel, func.min(Delivery.id).label("head_id"))
             .where(Delivery.status == "pending", Delivery.next_attempt_at > now, Delivery.attempts > 0)
             .group_by(Delivery.channel).subquery())
    query = query.outerjoin(heads, heads.c.channel == Delivery.channel).where(
        or_(heads.c.head_id.is_(None), Delivery.id < heads.c.head_id))
    # Oldest first, so a channel that recovers gets its alerts in the order they were raised.
    return list(session.scalars(query.order_by(Delivery.id).limit(limit)))


def has_delivery(session: Session, *, alert_id: int, channel: str) -> bool:
    """Whether the channel was ever given this alert (an update to a channel that never saw it is news)."""
    found = session.scalar(select(Delivery.id).where(
        Delivery.alert_id == alert_id, Delivery.channel == channel, Delivery.status != "skipped").limit(1))
    return found is not None


def has_unsent_delivery(session: Session, *, alert_id: int, channel: str) -> bool:
    """Whether a message about the alert is still waiting for the channel (it will show the latest state)."""
    found = session.scalar(select(Delivery.id).where(
        Delivery.alert_id == alert_id, Delivery.channel == channel,
        Delivery.status.in_(["pending", "held", "overflow"])).limit(1))
    return found is not None


def channel_sent_times(session: Session, *, channel: str, since: datetime) -> list[datetime]:
    """When messages to the channel went out since ``since`` (one per alert, digest or summary)."""
    query = select(Delivery.delivered_at).where(
        Delivery.channel == channel, Delivery.status == "sent", Delivery.delivered_at > since)
    return [row for row in session.scalars(query) if row is not None]


def channel_in_flight(session: Session, *, channel: str, now: datetime) -> int:
    """Deliveries to the channel being sent right now (claimed, lease not expired)."""
    return int(session.scalar(select(func.count()).select_from(Delivery).where(
        Delivery.channel == channel, Delivery.status == "sending", Delivery.next_attempt_at > now)) or 0)


def deliveries_with_status(
    session: Session, *, channel: str, status: str, created_before: datetime | None = None
) -> list[Delivery]:
    query = select(Delivery).where(Delivery.channel == channel, Delivery.status == status)
    if created_before is not None:
        query = query.where(Delivery.created_at <= created_before)
    return list(session.scalars(query.order_by(Delivery.id)))


def channels_with_status(session: Session, status: str) -> list[str]:
    return list(session.scalars(select(Delivery.channel).where(Delivery.status == status).distinct()))


def bundle_members(session: Session, bundle_id: int) -> list[Delivery]:
    query = select(Delivery).where(Delivery.bundle_id == bundle_id).order_by(Delivery.id)
    return list(session.scalars(query))


def failed_attempts(session: Session, delivery_id: int) -> int:
    """Failed or crash-interrupted attempts since the last retry; rate-limited ones do not count."""
    return int(session.scalar(select(func.count()).select_from(DeliveryAttempt).where(
        DeliveryAttempt.delivery_id == delivery_id, DeliveryAttempt.outcome.in_(FAILED_OUTCOMES))) or 0)


def open_attempt(session: Session, delivery_id: int) -> DeliveryAttempt | None:
    query = select(DeliveryAttempt).where(
        DeliveryAttempt.delivery_id == delivery_id, DeliveryAttempt.outcome == "sending"
    ).order_by(DeliveryAttempt.id.desc())
    return session.scalars(query.limit(1)).first()


def dead_deliveries(session: Session, alert_id: int) -> list[Delivery]:
    """Dead deliveries of an alert, including those of the digests or summaries it went out in."""
    own = select(Delivery.bundle_id).where(Delivery.alert_id == alert_id, Delivery.bundle_id.is_not(None))
    query = select(Delivery).where(
        Delivery.status == "dead", (Delivery.alert_id == alert_id) | Delivery.alert_id.in_(own))
    return list(session.scalars(query.order_by(Delivery.id)))


def dead_deliveries_to(session: Session, channel: str) -> list[Delivery]:
    """Dead deliveries to ``channel`` (digests and summaries included), oldest first.

    Those of dismissed alerts are left out: the dispatcher would only skip them.
    """
    query = (select(Delivery).join(Alert, Delivery.alert_id == Alert.id)
             .where(Delivery.status == "dead", Delivery.channel == channel, Alert.state != "dismissed"))
    return list(session.scalars(query.order_by(Delivery.id)))


def prune_delivery_attempts(session: Session, *, started_before: datetime, limit: int = 500) -> int:
    """Delete up to ``limit`` attempts started before ``started_before`` of deliveries in FINAL_STATUSES.

    Attempts of unfinished deliveries (pending, sending, held, overflow) are kept whatever their age: their
    failures count towards ``alerts.max_attempts`` and an open one marks a send a crash interrupted.
    """
    finished = select(Delivery.id).where(Delivery.status.in_(FINAL_STATUSES))
    ids = list(session.scalars(
        select(DeliveryAttempt.id)
        .where(DeliveryAttempt.started_at < started_before, DeliveryAttempt.delivery_id.in_(finished))
        .order_by(DeliveryAttempt.id).limit(limit)))
    if ids:
        session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.id.in_(ids)))
    return len(ids)


def waiting_deliveries(session: Session) -> int:
    """How many deliveries wait to be sent (pending, or being sent)."""
    return int(session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status.in_(["pending", "sending"]))
    ) or 0)


def deliveries_by_status(session: Session) -> dict[str, int]:
    query = select(Delivery.status, func.count()).group_by(Delivery.status)
    return {status: int(n) for status, n in session.execute(query)}


def oldest_waiting_delivery(session: Session) -> datetime | None:
    """When the oldest delivery still waiting to be sent was queued."""
    return session.scalar(
        select(func.min(Delivery.created_at)).where(Delivery.status.in_(["pending", "sending"]))
    )
