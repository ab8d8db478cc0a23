"""Operator alerts: source health, configuration errors and dead channels, sent to ``operator_channel``.

One open alert per problem ``key`` (e.g. ``source:hrana:unhealthy``): raised once, refreshed while open,
resolved when the problem goes away, so the next occurrence is news again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.folding import AlertDecision
from monitor.alerts.outbox import open_alert
from storage import alerts_repo as repo
from storage.models import utcnow

log = logging.getLogger(__name__)
OPERATOR_SEVERITY = "warning"


def raise_operator_alert(session: Session, config: TocsinConfig, *, key: str, title: str, summary: str,
                         severity: str = OPERATOR_SEVERITY, now: datetime | None = None) -> AlertDecision:
    """Tell the operator about a source-health or configuration problem (``settings.operator_channel``).

    The same ``key`` (e.g. ``source:hrana:unhealthy``) raised again while its alert is open only refreshes
    it; after the alert is acknowledged or dismissed (or resolved), raising the key again is news.
    """
    now = now or utcnow()
    existing = repo.latest_operator_alert(session, key)
    if existing is not None and existing.state in ("new", "updated"):
        existing.last_seen_at, existing.summary, existing.title = now, summary, title
        return AlertDecision(existing.id, created=False, changed=False)
    alert, queued = open_alert(
        session, config,
        dedup_key=repo.unused_key(session, f"operator|{key}|{now:%Y-%m-%dT%H:%M:%S}"),
        kind="operator", event_type="operator", severity=severity, subject=key, subject_key=key,
        title=title, summary=summary, details={"key": key}, first_seen_at=now, last_seen_at=now, now=now,
    )
    if not queued:
        log.warning("operator alert %r has no channel to go to (set operator_channel): %s", key, title)
    return AlertDecision(alert.id, created=True, changed=True)


def resolve_operator_alert(session: Session, *, key: str) -> bool:
    """The problem went away: close the open alert so the next occurrence is raised afresh."""
    existing = repo.latest_operator_alert(session, key)
    if existing is None or existing.state not in ("new", "updated"):
        return False
    existing.state, existing.acknowledged_at = "acknowledged", utcnow()
    existing.details = {**existing.details, "resolved_at": utcnow().isoformat()}
    return True
