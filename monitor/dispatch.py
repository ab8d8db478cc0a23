"""Send due deliveries from the outbox, record every attempt, retry with backoff, never lose one.

A delivery is marked ``sending`` and committed before the send; if the process dies between the send and
the commit of ``sent``, the next dispatcher resends it once (at-least-once; the window is one message).
Chunks already confirmed (``chunks_sent``) are never resent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from config.loader import TocsinConfig
from monitor import notify
from monitor.messages import AlertView, render_email, render_telegram
from monitor.views import alert_view
from storage.db import Database
from storage.models import Delivery, utcnow
from storage.repository import due_deliveries

log = logging.getLogger(__name__)
Sender = Callable[..., notify.SendResult]


@dataclass(frozen=True)
class OutgoingMessage:
    title: str
    body: str
    body_format: str  # text|html|markdown


@dataclass
class DispatchReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


def messages_for(url: str, view: AlertView) -> list[OutgoingMessage]:
    """Render an alert for the kind of channel behind ``url``."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in {"tgram", "telegram"}:
        return [OutgoingMessage("", chunk, "html") for chunk in render_telegram(view)]
    if scheme in {"mailto", "mailtos", "email"}:
        parts = render_email(view)
        return [OutgoingMessage(parts.subject, parts.html, "html")]
    parts = render_email(view)
    return [OutgoingMessage(parts.subject, parts.text, "text")]


def backoff(attempts: int, *, base: timedelta, cap: timedelta, retry_after: float | None) -> timedelta:
    """Exponential backoff with full jitter, never shorter than the server's Retry-After."""
    ceiling = min(cap.total_seconds(), base.total_seconds() * (2 ** max(0, attempts - 1)))
    delay = random.uniform(base.total_seconds() / 2, max(base.total_seconds() / 2, ceiling))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


SEND_LEASE = timedelta(minutes=5)


def _claim(database: Database, now: datetime, limit: int) -> list[int]:
    """Mark due deliveries ``sending`` under a lease: one left ``sending`` by a crash is retried after it."""
    with database.write() as session:
        claimed = []
        for delivery in due_deliveries(session, now=now, limit=limit):
            delivery.status = "sending"
            delivery.attempts += 1
            delivery.next_attempt_at = now + SEND_LEASE
            claimed.append(delivery.id)
        return claimed


def dispatch_due(
    database: Database,
    config: TocsinConfig,
    *,
    now: datetime | None = None,
    limit: int = 100,
    sender: Sender = notify.send,
) -> DispatchReport:
    """Send every delivery that is due; returns what happened to each."""
    report = DispatchReport()
    settings = config.settings.alerts
    for delivery_id in _claim(database, now or utcnow(), limit):
        with database.read() as session:
            delivery = session.get_one(Delivery, delivery_id)
            url = config.channel_urls.get(delivery.channel)
            messages = messages_for(url, alert_view(session, delivery.alert, is_update=delivery.kind == "update")) \
                if url else []
            start, attempts = delivery.chunks_sent, delivery.attempts
        error, retry_after, sent_chunks = None, None, start
        if url is None:
            error = f"channel {delivery.channel!r} is not configured or disabled"
        for message in messages[start:]:
            result = sender(url, title=message.title, body=message.body, body_format=message.body_format)
            if not result.ok:
                error, retry_after = result.error or "send failed", result.retry_after
                break
            sent_chunks += 1
        with database.write() as session:
            delivery = session.get_one(Delivery, delivery_id)
            delivery.chunks_sent = sent_chunks
            if error is None:
                delivery.status, delivery.delivered_at, delivery.last_error = "sent", utcnow(), None
                report.sent.append(delivery_id)
            elif attempts >= settings.max_attempts or url is None:
                delivery.status, delivery.last_error = "dead", error
                report.dead.append(delivery_id)
                log.error("delivery %d to %s is dead after %d attempts: %s", delivery_id, delivery.channel,
                          attempts, error)
            else:
                delivery.status, delivery.last_error = "pending", error
                delivery.next_attempt_at = utcnow() + backoff(
                    attempts, base=settings.retry_base, cap=settings.retry_max, retry_after=retry_after)
                report.retrying.append(delivery_id)
                log.warning("delivery %d to %s failed (attempt %d), retrying: %s", delivery_id,
                            delivery.channel, attempts, error)
    return report
