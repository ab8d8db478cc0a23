"""Send due deliveries from the outbox; record every attempt, retry with backoff, never lose one.

How a delivery travels (statuses of ``Delivery``)::

    pending --claim--> sending --ok--> sent
       ^                  |  \\--failed, attempts left--> pending (exponential backoff with jitter)
       |                  |   \\--429--> pending at Retry-After (not counted as a failure)
       |                  \\--failed N times, or once for good--> dead --`tocsin alerts retry ID`--> pending
       +-- quiet hours (deferred) ; held (digest) / overflow (rate limit) --> folded into one bundle message

At most once more. The claim (``sending``, lease ``alerts.send_lease``) is committed before the send, and
each chunk's success right after it. A process killed after Telegram or the SMTP server accepted a
message but before that commit resends exactly that message once, when the lease expires: nothing else
is ever sent twice, and nothing is lost. An attempt the crash cut short stays in ``delivery_attempts``
with outcome ``interrupted`` and counts as a failure, so a crash loop cannot resend forever.

Failures for good. A failure no retry can fix (``SendResult.permanent``: chat not found, token revoked,
SMTP 5xx; see ``monitor.delivery.failures``) makes the delivery dead at once. Whenever a delivery goes
dead, the channel gets one operator alert (key ``channel:NAME:dead``): refreshed, not resent, while
it is open; at most one new one per channel per ``CHANNEL_ALERT_WINDOW``; resolved by the channel's
next successful send, so the next breakage is news again.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.operator import raise_operator_alert, resolve_operator_alert
from monitor.alerts.outbox import open_bundle
from monitor.alerts.routing import (
    BUNDLE_KINDS,
    Action,
    digest_slot,
    gate,
    previous_digest_slot,
    rate_check,
)
from monitor.delivery import notify
from monitor.delivery.compose import alert_view, digest_view, overflow_view
from monitor.messages import (
    AlertView,
    render_digest,
    render_email,
    render_overflow,
    render_telegram,
    render_telegram_digest,
    render_telegram_overflow,
)
from storage import alerts_repo as repo
from storage.db import Database
from storage.models import Delivery, DeliveryAttempt, utcnow

log = logging.getLogger(__name__)
Sender = Callable[..., notify.SendResult]
Clock = Callable[[], datetime]
TELEGRAM_SCHEMES = frozenset({"tgram", "telegram"})
EMAIL_SCHEMES = frozenset({"mailto", "mailtos", "email"})
PACE_SECONDS = {"tgram": 1.0, "telegram": 1.0}  # Telegram allows about one message a second per chat
MAX_PACE_WAIT = 5.0  # a channel that must wait longer than this is left for the next run
TEST_HOOK_ENV = "TOCSIN_DISPATCH_TEST_HOOK"  # "after_send:N": stop (for a kill) after the Nth accepted send
CHANNEL_ALERT_WINDOW = timedelta(hours=6)  # at most one new "deliveries go dead" alert per channel per window
INTERRUPTED = ("the dispatcher stopped (crash or kill) before recording the result; the message in flight "
               "may have been delivered and is sent again")


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
    deferred: list[int] = field(default_factory=list)  # quiet hours
    held: list[int] = field(default_factory=list)  # waiting for a digest
    overflowed: list[int] = field(default_factory=list)  # over a rate limit, will go out in a summary
    skipped: list[int] = field(default_factory=list)
    bundles: list[int] = field(default_factory=list)  # digest or summary alerts created


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


def messages_for(url: str, view: AlertView) -> list[OutgoingMessage]:
    """Render an alert for the kind of channel behind ``url``."""
    scheme = scheme_of(url)
    if scheme in TELEGRAM_SCHEMES:
        return [OutgoingMessage("", chunk, "html") for chunk in render_telegram(view)]
    parts = render_email(view)
    if scheme in EMAIL_SCHEMES:
        return [OutgoingMessage(parts.subject, parts.html, "html")]
    return [OutgoingMessage(parts.subject, parts.text, "text")]


def _render(session: Session, delivery: Delivery, url: str) -> list[OutgoingMessage]:
    alert, scheme = delivery.alert, scheme_of(url)
    if alert.kind not in BUNDLE_KINDS:
        return messages_for(url, alert_view(session, alert, is_update=delivery.kind == "update"))
    if alert.kind == "digest":
        digest = digest_view(session, alert)
        chunks, parts = (render_telegram_digest(digest), None) if scheme in TELEGRAM_SCHEMES \
            else ([], render_digest(digest))
    else:
        overflow = overflow_view(session, alert, delivery.channel)
        chunks, parts = (render_telegram_overflow(overflow), None) if scheme in TELEGRAM_SCHEMES \
            else ([], render_overflow(overflow))
    if parts is None:
        return [OutgoingMessage("", chunk, "html") for chunk in chunks]
    if scheme in EMAIL_SCHEMES:
        return [OutgoingMessage(parts.subject, parts.html, "html")]
    return [OutgoingMessage(parts.subject, parts.text, "text")]


def backoff(attempts: int, *, base: timedelta, cap: timedelta, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter: half to all of base*2^(n-1), capped; never under Retry-After."""
    ceiling = min(cap.total_seconds(), base.total_seconds() * (2 ** max(0, attempts - 1)))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


class Pacer:
    """Spaces messages to one channel (Telegram: about one a second) and honours a 429's Retry-After.

    Keep one for the life of the process (the service does): a Retry-After then holds the whole channel,
    not only the delivery that got it.
    """

    def __init__(self, intervals: dict[str, float] | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.intervals = PACE_SECONDS if intervals is None else intervals
        self._monotonic, self._sleep = monotonic, sleep
        self._next: dict[str, float] = {}

    def ready_in(self, channel: str) -> float:
        return max(0.0, self._next.get(channel, 0.0) - self._monotonic())

    def wait(self, channel: str) -> None:
        delay = self.ready_in(channel)
        if delay > 0:
            self._sleep(delay)

    def sent(self, channel: str, scheme: str) -> None:
        self._next[channel] = self._monotonic() + self.intervals.get(scheme, 0.0)

    def hold(self, channel: str, seconds: float) -> None:
        self._next[channel] = max(self._next.get(channel, 0.0), self._monotonic() + seconds)


_PROCESS_PACER = Pacer()
_hook_counts: dict[str, int] = {}


def _test_hook(point: str) -> None:
    """Tests only: print a marker and block, so a test can SIGKILL the process at exactly this point."""
    spec = os.environ.get(TEST_HOOK_ENV)
    if not spec or spec.partition(":")[0] != point:
        return
    _hook_counts[point] = _hook_counts.get(point, 0) + 1
    if _hook_counts[point] == int(spec.partition(":")[2] or 1):
        sys.stdout.write(f"TOCSIN-TEST-HOOK {point} {_hook_counts[point]}\n")
        sys.stdout.flush()
        threading.Event().wait()


# --- bundles: digests and rate-limit summaries ------------------------------------------------------


def fold_digests(session: Session, config: TocsinConfig, *, now: datetime,
                 channels: list[str] | None = None) -> list[int]:
    """Fold each digest channel's held alerts into one digest once its daily time has passed.

    Idempotent: call it as often as you like (the dispatcher does, every run); a digest covers what
    was held before the latest digest time. Held alerts of a channel that no longer has a digest are
    released to be sent on their own.
    """
    created = []
    for name, channel in config.enabled_channels().items():
        slot = digest_slot(channel, now)
        if slot is None or (channels is not None and name not in channels):
            continue
        held = repo.deliveries_with_status(session, channel=name, status="held", created_before=slot)
        if not held:
            continue
        start = min([previous_digest_slot(channel, slot)] + [d.created_at for d in held])
        n = len({d.alert_id for d in held})
        delivery = open_bundle(session, kind="digest", channel=name, members=held,
                           key=f"digest|{name}|{slot:%Y-%m-%dT%H:%M}", title=f"Digest: {n} alerts",
                           details={"period_start": start.isoformat(), "period_end": slot.isoformat()},
                           now=now)
        created.append(delivery.alert_id)
    for name in repo.channels_with_status(session, "held"):
        configured = config.settings.channels.get(name)
        if configured is None or not configured.enabled or configured.digest is None:
            for delivery in repo.deliveries_with_status(session, channel=name, status="held"):
                delivery.status, delivery.next_attempt_at = "pending", now
    return created


def run_digests(database: Database, config: TocsinConfig, *, now: datetime | None = None,
                channels: list[str] | None = None) -> list[int]:
    """The digest job: build due digests (ids of the digest alerts); the dispatcher then sends them."""
    with database.write() as session:
        return fold_digests(session, config, now=now or utcnow(), channels=channels)


# --- telling the operator that a channel's deliveries go dead ----------------------------------------


def channel_alert_key(channel: str) -> str:
    return f"channel:{channel}:dead"


def report_dead_delivery(session: Session, config: TocsinConfig, delivery: Delivery, reason: str, *,
                         now: datetime) -> bool:
    """One operator alert for a channel whose deliveries go dead (no storm); True when a new one was raised.

    A dead operator alert raises nothing: it would go to the operator channel, which is what failed.
    """
    if delivery.alert.kind == "operator":
        log.error("operator alert %d could not be delivered to %s either: %s", delivery.alert_id,
                  delivery.channel, reason)
        return False
    key = channel_alert_key(delivery.channel)
    latest = repo.latest_operator_alert(session, key)
    is_open = latest is not None and latest.state in ("new", "updated")
    if latest is not None and not is_open and now - latest.first_seen_at < CHANNEL_ALERT_WINDOW:
        log.info("channel %s: operator already alerted at %s; not alerting again before %s", delivery.channel,
                 latest.first_seen_at, latest.first_seen_at + CHANNEL_ALERT_WINDOW)
        return False
    decision = raise_operator_alert(
        session, config, key=key, now=now,
        title=f"Channel {delivery.channel}: alerts are not getting through",
        summary=(f"A message for alert {delivery.alert_id} was given up: {reason}. Fix the channel, then "
                 "re-send what it missed with `tocsin alerts retry ID` (`tocsin alerts list --failed` lists "
                 "them)."),
    )
    return decision.created


# --- claiming, sending, recording -------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    attempt_id: int
    attempt: int
    channel: str
    url: str
    messages: list[OutgoingMessage]
    start: int
    render_error: str | None = None


class _Run:
    """One dispatcher run: its clock, settings, what it did, and channels it leaves for later."""

    def __init__(self, database: Database, config: TocsinConfig, *, clock: Clock, sender: Sender,
                 pacer: Pacer) -> None:
        self.database, self.config, self.clock = database, config, clock
        self.sender, self.pacer = sender, pacer
        self.settings = config.settings.alerts
        self.report = DispatchReport()
        self.resting: set[str] = set()  # channels that failed in this run: retried next run

    def excluded(self) -> set[str]:
        slow = {name for name in self.config.settings.channels if self.pacer.ready_in(name) > MAX_PACE_WAIT}
        return self.resting | slow

    def claim_next(self) -> _Job | None:
        now = self.clock()
        with self.database.write() as session:
            looked_at: set[int] = set()
            while True:
                rows = [d for d in repo.due_deliveries(session, now=now, exclude_channels=self.excluded())
                        if d.id not in looked_at]
                if not rows:
                    return None
                for delivery in rows:
                    looked_at.add(delivery.id)
                    job = self._consider(session, delivery, now)
                    if job is not None:
                        return job
                session.flush()

    def _consider(self, session: Session, delivery: Delivery, now: datetime) -> _Job | None:
        if delivery.status not in ("pending", "sending", "overflow"):
            return None  # folded into a bundle a moment ago
        channel = self.config.settings.channels.get(delivery.channel)
        url = self.config.channel_urls.get(delivery.channel)
        alert = delivery.alert
        decision = gate(channel if url else None, channel_name=delivery.channel, delivery_kind=delivery.kind,
                        severity=alert.severity, alert_state=alert.state, now=now)
        if decision.action is Action.DEAD:
            log.error("delivery %d to %s is dead: %s", delivery.id, delivery.channel, decision.reason)
            self._dead(session, delivery, decision.reason or "cannot be sent", now)
            return None
        if decision.action is Action.SKIP:
            delivery.status, delivery.last_error = "skipped", decision.reason
            self.report.skipped.append(delivery.id)
            return None
        if decision.action is Action.HOLD:
            delivery.status = "held"
            self.report.held.append(delivery.id)
            return None
        if decision.action is Action.DEFER:
            delivery.next_attempt_at, delivery.last_error = decision.until or now, decision.reason
            self.report.deferred.append(delivery.id)
            return None
        assert channel is not None and url is not None
        if delivery.kind in BUNDLE_KINDS and all(
                member.alert.state == "dismissed" for member in repo.bundle_members(session, alert.id)):
            delivery.status, delivery.last_error = "skipped", "every alert in it was dismissed"
            self.report.skipped.append(delivery.id)
            return None
        if channel.rate_limit is not None and delivery.kind not in BUNDLE_KINDS:
            limit = channel.rate_limit
            sent_at = repo.channel_sent_times(session, channel=delivery.channel, since=now - limit.per)
            in_flight = repo.channel_in_flight(session, channel=delivery.channel, now=now)
            check = rate_check(limit, sent_at, in_flight=in_flight, now=now)
            if not check.allowed:
                delivery.status, delivery.next_attempt_at = "overflow", check.free_at or now
                delivery.last_error = f"over the rate limit of {limit.count} per {limit.per}"
                self.report.overflowed.append(delivery.id)
                return None
            overflow = repo.deliveries_with_status(session, channel=delivery.channel, status="overflow")
            waiting = [d for d in overflow if d.id != delivery.id]
            if waiting:
                members = [*waiting, delivery]
                delivery = open_bundle(session, kind="overflow", channel=delivery.channel, members=members,
                                   key=f"overflow|{delivery.channel}|{now:%Y-%m-%dT%H:%M:%S}",
                                   title=f"{len(members)} alerts held back by the rate limit", details={},
                                   now=now)
                self.report.bundles.append(delivery.alert_id)
        return self._claim(session, delivery, url, now)

    def _dead(self, session: Session, delivery: Delivery, reason: str, now: datetime) -> None:
        delivery.status, delivery.last_error = "dead", reason
        self.report.dead.append(delivery.id)
        report_dead_delivery(session, self.config, delivery, reason, now=now)

    def _claim(self, session: Session, delivery: Delivery, url: str, now: datetime) -> _Job:
        interrupted = repo.open_attempt(session, delivery.id)
        if interrupted is not None:
            interrupted.outcome, interrupted.finished_at, interrupted.error = "interrupted", now, INTERRUPTED
            log.warning("delivery %d to %s was interrupted mid-send; sending the message in flight again",
                        delivery.id, delivery.channel)
        delivery.status, delivery.attempts = "sending", delivery.attempts + 1
        delivery.next_attempt_at = now + self.settings.send_lease
        attempt = DeliveryAttempt(delivery_id=delivery.id, number=delivery.attempts, started_at=now,
                                  chunks_before=delivery.chunks_sent, chunks_after=delivery.chunks_sent)
        session.add(attempt)
        session.flush()
        try:
            messages, problem = _render(session, delivery, url), None
        except Exception as exc:  # a template bug must fail this delivery, not the dispatcher
            log.exception("could not render delivery %d", delivery.id)
            messages, problem = [], f"could not render the message: {type(exc).__name__}: {exc}"
        return _Job(delivery.id, attempt.id, delivery.attempts, delivery.channel, url, messages,
                    delivery.chunks_sent, problem)

    def send(self, job: _Job) -> None:
        sent, error, retry_after, permanent = job.start, job.render_error, None, job.render_error is not None
        for index in range(job.start, len(job.messages) if error is None else job.start):
            message = job.messages[index]
            self.pacer.wait(job.channel)
            result = self.sender(job.url, title=message.title, body=message.body,
                                 body_format=message.body_format)
            self.pacer.sent(job.channel, scheme_of(job.url))
            if not result.ok:
                error, retry_after = result.error or "send failed", result.retry_after
                permanent = result.permanent
                break
            _test_hook("after_send")
            sent = index + 1
            if sent < len(job.messages):
                self._record_progress(job, sent)
        if error is None and not job.messages:
            error = "nothing to send (the message rendered empty)"
        self._finish(job, sent=sent, error=error, retry_after=retry_after, permanent=permanent)

    def _ours(self, session: Session, job: _Job) -> Delivery | None:
        delivery = session.get_one(Delivery, job.delivery_id)
        if delivery.status != "sending" or delivery.attempts != job.attempt:
            log.warning("delivery %d was taken over by another dispatcher; not recording", job.delivery_id)
            return None
        return delivery

    def _record_progress(self, job: _Job, sent: int) -> None:
        with self.database.write() as session:
            delivery = self._ours(session, job)
            if delivery is not None:
                delivery.chunks_sent = sent
                session.get_one(DeliveryAttempt, job.attempt_id).chunks_after = sent

    def _finish(self, job: _Job, *, sent: int, error: str | None, retry_after: float | None,
                permanent: bool = False) -> None:
        now = self.clock()
        with self.database.write() as session:
            delivery = self._ours(session, job)
            if delivery is None:
                return
            attempt = session.get_one(DeliveryAttempt, job.attempt_id)
            delivery.chunks_sent, attempt.chunks_after, attempt.finished_at = sent, sent, now
            if error is None:
                delivery.status, delivery.delivered_at, delivery.last_error = "sent", now, None
                attempt.outcome = "sent"
                self.report.sent.append(delivery.id)
                if resolve_operator_alert(session, key=channel_alert_key(delivery.channel)):
                    log.info("channel %s delivers again: its operator alert is resolved", delivery.channel)
                return
            attempt.error, attempt.retry_after = error, retry_after
            self.resting.add(delivery.channel)
            if retry_after is not None:
                attempt.outcome, delivery.status = "rate_limited", "pending"
                delivery.next_attempt_at = now + timedelta(seconds=retry_after)
                delivery.last_error = f"rate limited; retry after {retry_after:g}s ({error})"
                self.pacer.hold(delivery.channel, retry_after)
                self.report.retrying.append(delivery.id)
                log.warning("delivery %d to %s rate limited; retrying after %gs", delivery.id,
                            delivery.channel, retry_after)
                return
            attempt.outcome, delivery.last_error = "failed", error
            session.flush()
            if permanent:
                log.error("delivery %d to %s is dead, not retried (no retry can fix this): %s", delivery.id,
                          delivery.channel, error)
                self._dead(session, delivery, error, now)
                return
            failures = repo.failed_attempts(session, delivery.id)
            if failures >= self.settings.max_attempts:
                log.error("delivery %d to %s is dead after %d failed attempts: %s", delivery.id,
                          delivery.channel, failures, error)
                self._dead(session, delivery, error, now)
                return
            delivery.status = "pending"
            delivery.next_attempt_at = now + backoff(failures, base=self.settings.retry_base,
                                                     cap=self.settings.retry_max)
            self.report.retrying.append(delivery.id)
            log.warning("delivery %d to %s failed (attempt %d of %d), retrying: %s", delivery.id,
                        delivery.channel, failures, self.settings.max_attempts, error)


def _fixed(moment: datetime) -> Clock:
    return lambda: moment


def dispatch_due(
    database: Database,
    config: TocsinConfig,
    *,
    now: datetime | None = None,
    limit: int = 100,
    sender: Sender = notify.send,
    clock: Clock | None = None,
    pacer: Pacer | None = None,
) -> DispatchReport:
    """Build due digests, then send every delivery that is due (at most ``limit``); says what happened.

    ``now`` pins the clock (tests, backfills); the service passes nothing and one long-lived ``pacer``.
    """
    if clock is None:
        clock = utcnow if now is None else _fixed(now)
    run = _Run(database, config, clock=clock, sender=sender, pacer=pacer or _PROCESS_PACER)
    with database.write() as session:
        run.report.bundles.extend(fold_digests(session, config, now=run.clock()))
    for _ in range(limit):
        job = run.claim_next()
        if job is None:
            break
        run.send(job)
    return run.report
