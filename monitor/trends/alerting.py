"""Write the alerts the analysis decides on: one Alert row per stable key, plus its outbox rows (through
``monitor.alerts.outbox``, like every alert).

Routing is the alerts layer's (:func:`monitor.alerts.routing.route`), so a channel's severity, event, tag and
language filters mean the same for surge and escalation alerts as for event alerts. An alert about a moment older than
``analysis.deliver_within`` (a backfill of history) is recorded without deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.outbox import open_alert
from monitor.alerts.routing import AlertFacts, route
from monitor.trends.events import fold_name
from storage.trends_repo import alert_exists


@dataclass
class AlertDraft:
    """An alert the analysis wants raised; ``moment`` is when it became true (deterministic)."""

    kind: str  # surge|escalation
    dedup_key: str
    event_type: str
    severity: str
    subject: str
    title: str
    summary: str
    details: dict[str, Any]
    moment: datetime
    tags: set[str] = field(default_factory=set)
    langs: set[str | None] = field(default_factory=set)


@dataclass(frozen=True)
class RaisedAlert:
    """What :func:`monitor.trends.analysis.analyze` returns for each alert it wrote."""

    alert_id: int
    kind: str
    dedup_key: str
    severity: str
    subject: str
    title: str
    moment: datetime
    deliveries: tuple[str, ...]


def wanted_channels(config: TocsinConfig, draft: AlertDraft) -> list[str]:
    """Channels that want the alert for at least one language among the reports behind it."""
    channels = config.enabled_channels()
    langs = sorted(draft.langs, key=lambda lang: lang or "") or [None]
    wanted: set[str] = set()
    for lang in langs:
        wanted |= set(route(channels, AlertFacts(severity=draft.severity, event_type=draft.event_type,
                                                 tags=frozenset(draft.tags), language=lang)))
    return [name for name in channels if name in wanted]


def record_alert(session: Session, config: TocsinConfig, draft: AlertDraft, *, now: datetime,
                 deliver_within: timedelta) -> RaisedAlert | None:
    """Insert ``draft`` unless its key exists; queue deliveries when it is recent enough to be news."""
    if alert_exists(session, draft.dedup_key):
        return None
    news = now - draft.moment <= deliver_within
    alert, queued = open_alert(
        session, config,
        dedup_key=draft.dedup_key[:300], kind=draft.kind, event_type=draft.event_type,
        severity=draft.severity, subject=draft.subject[:300], subject_key=fold_name(draft.subject)[:300],
        title=draft.title, summary=draft.summary, details=draft.details,
        first_seen_at=draft.moment, last_seen_at=draft.moment,
        channels=wanted_channels(config, draft) if news else [],
    )
    return RaisedAlert(alert.id, draft.kind, alert.dedup_key, draft.severity, draft.subject, draft.title,
                       draft.moment, tuple(d.channel for d in queued))
