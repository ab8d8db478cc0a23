"""The alert queue as the pages, the API and the Atom feeds see it: a filter from query values, and rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from config.errors import AlertError
from storage import alerts_repo
from storage import console_repo as repo
from storage.console_models import AuditEntry
from storage.console_repo import STATE_GROUPS, QueueFilter
from storage.models import Alert

PAGE = 50


def _moment(value: str | None, *, end: bool = False) -> datetime | None:
    """A date (``2025-07-21``, the whole day) or an ISO time, as UTC; empty means none."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AlertError(f"{value!r} is not a date (2025-07-21) or an ISO time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def queue_filter(values: Mapping[str, Any], *, seen_alert_id: int = 0) -> QueueFilter:
    """The filter that query values (or a saved filter) describe; ``new=1`` is "new since I last looked"."""
    def text(key: str) -> str | None:
        value = values.get(key)
        return str(value).strip() or None if value is not None else None

    state = text("state") or "triage"
    if state not in STATE_GROUPS:
        raise AlertError(f"unknown state {state!r} (one of {', '.join(STATE_GROUPS)})")
    new = text("new") in ("1", "true", "on")
    return QueueFilter(state=state, event=text("event"), severity=text("severity"), source=text("source"),
                       lang=text("lang"), person=text("person"), since=_moment(text("since")),
                       until=_moment(text("until"), end=True),
                       after_id=seen_alert_id if new else None)


def query_values(queue: QueueFilter, *, new: bool = False) -> dict[str, str]:
    """The query string values that give ``queue`` back (dates as days)."""
    out = {key: str(value) for key, value in queue.to_query().items() if key not in ("after_id", "since", "until")}
    if queue.since:
        out["since"] = queue.since.date().isoformat()
    if queue.until:
        out["until"] = queue.until.date().isoformat()
    if new or queue.after_id is not None:
        out["new"] = "1"
    return out


@dataclass
class QueueRow:
    alert: Alert
    sources: int
    langs: list[str]
    last_action: AuditEntry | None
    is_new: bool  # raised since the viewer last marked the queue seen


@dataclass
class QueuePage:
    filter: QueueFilter
    rows: list[QueueRow]
    total: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    new_count: int = 0


def queue_rows(session: Session, alerts: list[Alert], *, seen_alert_id: int) -> list[QueueRow]:
    ids = [a.id for a in alerts]
    langs = repo.alert_langs(session, ids)
    actions = repo.last_actions(session, ids)
    return [QueueRow(a, alerts_repo.alert_source_count(session, a.id), sorted(langs.get(a.id, [])),
                     actions.get(a.id), a.id > seen_alert_id) for a in alerts]


def queue_page(session: Session, queue: QueueFilter, *, seen_alert_id: int, offset: int = 0,
               with_facets: bool = True) -> QueuePage:
    alerts = repo.queue_alerts(session, queue, limit=PAGE, offset=offset)
    page = QueuePage(queue, queue_rows(session, alerts, seen_alert_id=seen_alert_id),
                     repo.queue_count(session, queue))
    if with_facets:
        page.facets = repo.queue_facets(session, queue)
        page.new_count = repo.queue_count(session, QueueFilter(state=queue.state, after_id=seen_alert_id))
    return page


def alert_summary(alert: Alert) -> dict[str, Any]:
    """An alert as the API lists it."""
    return {
        "id": alert.id, "kind": alert.kind, "event": alert.event_type, "severity": alert.severity,
        "subject": alert.subject, "title": alert.title, "summary": alert.summary, "state": alert.state,
        "revision": alert.revision, "first_seen": alert.first_seen_at, "last_seen": alert.last_seen_at,
        "acknowledged_at": alert.acknowledged_at, "dismissed_at": alert.dismissed_at,
        "dismiss_reason": alert.dismiss_reason,
    }
