"""The outbox: the one module that creates ``Alert`` and ``Delivery`` rows (a test keeps it so).

Every alert is born here with its first deliveries, in the caller's transaction: event alerts
(``folding``), removals (``removals``), operator alerts (``operator``), the trends' surges and
escalations (``monitor.trends.alerting``), and the digests and rate-limit summaries the dispatcher
folds held deliveries into (:func:`open_bundle`). Later revisions of an alert queue more rows through
:func:`queue_deliveries`. One row per alert revision and channel; the dispatcher sends them.

Which channels get an alert is routing's decision (``routing.route``) unless the caller already made
it (the trends route an alert for every language among its reports). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.routing import AlertFacts, most_severe, route
from storage import alerts_repo as repo
from storage.models import Alert, Delivery, Item, utcnow


def facts_for(alert: Alert, item: Item | None) -> AlertFacts:
    tags = frozenset(item.source.tags) if item is not None and item.source is not None else frozenset()
    return AlertFacts(severity=alert.severity, event_type=alert.event_type, tags=tags,
                      language=item.lang if item is not None else None)


def routed_channels(alert: Alert, config: TocsinConfig, *, item: Item | None) -> list[str]:
    """The operator channel for an operator alert, else the channels whose filters want the alert."""
    if alert.kind == "operator":
        name = config.settings.operator_channel
        return [name] if name and name in config.enabled_channels() else []
    return route(config.enabled_channels(), facts_for(alert, item))


def queue_deliveries(session: Session, alert: Alert, config: TocsinConfig, *, item: Item | None,
                     update: bool, now: datetime | None = None,
                     channels: Sequence[str] | None = None) -> list[Delivery]:
    """Write the outbox rows for this revision of the alert: one per channel that wants it.

    ``channels``: the caller's routing decision; by default the operator channel for an operator alert,
    else the channels whose filters want the alert and the report ``item`` that triggered it.
    """
    if channels is None:
        channels = routed_channels(alert, config, item=item)
    queued = []
    for name in channels:
        if update and repo.has_unsent_delivery(session, alert_id=alert.id, channel=name):
            continue  # the message still waiting is rendered when sent, so it will list this source too
        seen_before = update and repo.has_delivery(session, alert_id=alert.id, channel=name)
        if seen_before and not config.settings.channels[name].updates:
            continue
        delivery = Delivery(alert_id=alert.id, channel=name, revision=alert.revision,
                            kind="update" if seen_before else "new", next_attempt_at=now or utcnow(),
                            created_at=now or utcnow())
        session.add(delivery)
        queued.append(delivery)
    session.flush()
    return queued


def open_alert(
    session: Session,
    config: TocsinConfig,
    *,
    dedup_key: str,
    kind: str,
    event_type: str,
    severity: str,
    title: str,
    summary: str,
    details: dict[str, Any],
    first_seen_at: datetime,
    last_seen_at: datetime,
    subject: str | None = None,
    subject_key: str | None = None,
    item: Item | None = None,
    now: datetime | None = None,
    channels: Sequence[str] | None = None,
) -> tuple[Alert, list[Delivery]]:
    """Insert a new alert and queue its first deliveries (due ``now``, default the clock).

    ``item``: the report that raised it (routing reads its source's tags and its language); ``channels``:
    see :func:`queue_deliveries` (an empty list records the alert without sending it).
    """
    alert = Alert(
        dedup_key=dedup_key, kind=kind, event_type=event_type, severity=severity, subject=subject,
        subject_key=subject_key, title=title, summary=summary, details=details,
        first_seen_at=first_seen_at, last_seen_at=last_seen_at,
    )
    session.add(alert)
    session.flush()
    return alert, queue_deliveries(session, alert, config, item=item, update=False, now=now, channels=channels)


def open_bundle(session: Session, *, kind: str, channel: str, members: list[Delivery], key: str, title: str,
                details: dict[str, object], now: datetime) -> Delivery:
    """One alert of kind digest|overflow standing for ``members``, and its own delivery."""
    alerts = [member.alert for member in members]
    bundle = Alert(
        dedup_key=repo.unused_key(session, key), kind=kind, event_type=kind,
        severity=most_severe([a.severity for a in alerts]), title=title,
        summary=f"{len({a.id for a in alerts})} alerts", details={"channel": channel, **details},
        first_seen_at=min(a.first_seen_at for a in alerts), last_seen_at=now,
    )
    session.add(bundle)
    session.flush()
    delivery = Delivery(alert_id=bundle.id, channel=channel, kind=kind, next_attempt_at=now, created_at=now)
    session.add(delivery)
    for member in members:
        member.status, member.bundle_id, member.last_error = "folded", bundle.id, None
    session.flush()
    return delivery
