"""What people do with an alert: acknowledge it, escalate it, dismiss it as a false positive, re-send what
went dead.

``new``/``updated`` -> ``acknowledged`` (someone is on it; updates still go out), ``escalated`` (needs a
senior look; updates still go out) or ``dismissed`` (with a reason, kept for the rules backtest: nothing more
is sent about it). Each function works on the caller's session, writes who did it (``actor``) to the audit
log, and raises :class:`~config.errors.AlertError` when the action cannot be done. The CLI and the console
call these same functions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from config.errors import AlertError
from storage import alerts_repo as repo
from storage.alerts_repo import DismissedAlert
from storage.console_repo import add_audit
from storage.models import Alert, Delivery, utcnow


def _get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.kind not in repo.EVENT_KINDS:
        raise AlertError(f"no alert {alert_id} (see `tocsin alerts list`)")
    return alert


def _record(session: Session, alert: Alert, *, actor: str, action: str, before: str, when: datetime,
            **detail: str) -> None:
    add_audit(session, actor=actor, action=f"alert.{action}", alert_id=alert.id, at=when,
              detail={"from": before, "to": alert.state, **detail})


def acknowledge(session: Session, alert_id: int, *, actor: str = "system", now: datetime | None = None) -> Alert:
    """Someone is on it. Later sources still reach channels that want updates."""
    alert = _get(session, alert_id)
    if alert.state == "dismissed":
        raise AlertError(f"alert {alert_id} was dismissed ({alert.dismiss_reason}); "
                         "it cannot be acknowledged")
    if alert.state != "acknowledged":
        before, when = alert.state, now or utcnow()
        alert.state, alert.acknowledged_at = "acknowledged", when
        _record(session, alert, actor=actor, action="acknowledge", before=before, when=when)
    return alert


def escalate(session: Session, alert_id: int, *, actor: str = "system", note: str = "",
             now: datetime | None = None) -> Alert:
    """It needs a senior look (the queue's escalated tab). Later sources still reach channels."""
    alert = _get(session, alert_id)
    if alert.state == "dismissed":
        raise AlertError(f"alert {alert_id} was dismissed ({alert.dismiss_reason}); it cannot be escalated")
    if alert.state != "escalated":
        before, when = alert.state, now or utcnow()
        alert.state = "escalated"
        _record(session, alert, actor=actor, action="escalate", before=before, when=when,
                **({"note": " ".join(note.split())} if note.strip() else {}))
    return alert


def dismiss(session: Session, alert_id: int, *, reason: str, actor: str = "system",
            now: datetime | None = None) -> Alert:
    """A false positive: nothing more is sent about it, and it stays queryable (``dismissed_alerts``)."""
    reason = " ".join(reason.split())
    if not reason:
        raise AlertError("say why the alert is dismissed (--reason); the rules backtest reads it")
    alert = _get(session, alert_id)
    before, when = alert.state, now or utcnow()
    alert.state, alert.dismissed_at, alert.dismiss_reason = "dismissed", when, reason
    for delivery in alert.deliveries:
        if delivery.status in ("pending", "held", "overflow"):
            delivery.status, delivery.last_error = "skipped", "alert dismissed before it was sent"
    _record(session, alert, actor=actor, action="dismiss", before=before, when=when, reason=reason)
    return alert


def dismissed_alerts(session: Session, *, since: datetime | None = None) -> list[DismissedAlert]:
    """Dismissed alerts with the rule and item version of every match, for the rules backtest."""
    return repo.dismissed_alerts(session, since=since)


def retry(session: Session, alert_id: int, *, now: datetime | None = None) -> list[Delivery]:
    """Re-queue the alert's dead deliveries (and dead digests or summaries it was in) with a fresh budget."""
    _get(session, alert_id)
    requeued = _requeue(repo.dead_deliveries(session, alert_id), now or utcnow())
    if not requeued:
        raise AlertError(f"alert {alert_id} has no dead delivery to retry")
    return requeued


def retry_channel(session: Session, channel: str, *, now: datetime | None = None) -> list[Delivery]:
    """Re-queue every dead delivery to ``channel`` (alerts, digests, summaries) with a fresh budget.

    For after a channel outage or a misconfiguration fixed (a wrong chat id is dead after one attempt).
    Deliveries of dismissed alerts stay dead. Returns the re-queued deliveries (none is not an error).
    """
    return _requeue(repo.dead_deliveries_to(session, channel), now or utcnow())


def _requeue(deliveries: list[Delivery], now: datetime) -> list[Delivery]:
    for delivery in deliveries:
        delivery.status, delivery.next_attempt_at = "pending", now
        for attempt in delivery.attempt_log:
            if attempt.outcome in repo.FAILED_OUTCOMES:
                attempt.outcome = f"{attempt.outcome}+retried"  # no longer counts towards max_attempts
    return deliveries
