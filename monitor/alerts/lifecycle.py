"""What people do with an alert: acknowledge it, dismiss it as a false positive, re-send what went dead.

``new``/``updated`` -> ``acknowledged`` (someone is on it; updates still go out) or ``dismissed`` (with a
reason, kept for the rules backtest: nothing more is sent about it). Each function works on the caller's
session and raises :class:`~config.errors.AlertError` when the action cannot be done.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from config.errors import AlertError
from storage import alerts_repo as repo
from storage.alerts_repo import DismissedAlert
from storage.models import Alert, Delivery, utcnow


def _get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.kind not in repo.EVENT_KINDS:
        raise AlertError(f"no alert {alert_id} (see `tocsin alerts list`)")
    return alert


def acknowledge(session: Session, alert_id: int, *, now: datetime | None = None) -> Alert:
    """Someone is on it. Later sources still reach channels that want updates."""
    alert = _get(session, alert_id)
    if alert.state == "dismissed":
        raise AlertError(f"alert {alert_id} was dismissed ({alert.dismiss_reason}); "
                         "it cannot be acknowledged")
    if alert.state != "acknowledged":
        alert.state, alert.acknowledged_at = "acknowledged", now or utcnow()
    return alert


def dismiss(session: Session, alert_id: int, *, reason: str, now: datetime | None = None) -> Alert:
    """A false positive: nothing more is sent about it, and it stays queryable (``dismissed_alerts``)."""
    reason = " ".join(reason.split())
    if not reason:
        raise AlertError("say why the alert is dismissed (--reason); the rules backtest reads it")
    alert = _get(session, alert_id)
    alert.state, alert.dismissed_at, alert.dismiss_reason = "dismissed", now or utcnow(), reason
    for delivery in alert.deliveries:
        if delivery.status in ("pending", "held", "overflow"):
            delivery.status, delivery.last_error = "skipped", "alert dismissed before it was sent"
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
