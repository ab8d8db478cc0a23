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
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.outbox import open_bundle
from monitor.alerts.routing import BUNDLE_KINDS, Action, gate, rate_check
from monitor.delivery import notify
from monitor.delivery.channels import OutgoingMessage, channel_for
from monitor.delivery.compose import outgoing_messages
from monitor.delivery.dead_channels import channel_delivers_again, report_dead_delivery
from monitor.delivery.digests import fold_digests
from monitor.delivery.pacing import Pacer, backoff
from storage import alerts_repo as repo
from storage.db import Database
from storage.models import Delivery, DeliveryAttempt, utcnow

log = logging.getLogger(__name__)
Sender = Callable[..., notify.SendResult]
Clock = Callable[[], datetime]
MAX_PACE_WAIT = 5.0  # a channel that must wait longer than this is left for the next run
TEST_HOOK_ENV = "TOCSIN_DISPATCH_TEST_HOOK"  # "after_send:N": stop (for a kill) after the Nth accepted send
INTERRUPTED = ("the dispatcher stopped (crash or kill) before recording the result; the message in flight "
               "may have been delivered and is sent again")


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


# --- claiming, sending, recording -------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    attempt_id: int
    attempt: int
    channel: str
    url: str
    kind: str  # the channel kind (monitor.delivery.channels), for pacing
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
        channel = channel_for(url)
        try:
            messages = outgoing_messages(session, delivery, channel, evidence_url=self.settings.evidence_url)
            problem = None
        except Exception as exc:  # a template bug must fail this delivery, not the dispatcher
            log.exception("could not render delivery %d", delivery.id)
            messages, problem = [], f"could not render the message: {type(exc).__name__}: {exc}"
        return _Job(delivery.id, attempt.id, delivery.attempts, delivery.channel, url, channel.kind, messages,
                    delivery.chunks_sent, problem)

    def send(self, job: _Job) -> None:
        sent, error, retry_after, permanent = job.start, job.render_error, None, job.render_error is not None
        for index in range(job.start, len(job.messages) if error is None else job.start):
            message = job.messages[index]
            self.pacer.wait(job.channel)
            result = self.sender(job.url, title=message.title, body=message.body,
                                 body_format=message.body_format)
            self.pacer.sent(job.channel, job.kind)
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
                channel_delivers_again(session, delivery.channel)
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
