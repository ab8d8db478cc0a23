"""The outbox dispatcher: retries with backoff, dead letters, 429 holds, chunks, quiet hours, digests, limits.

The sender here is scripted (``ScriptedSender``) and the clock fake, so every decision is checked without
sleeping; tests/delivery/test_dispatch_channels.py sends through real Telegram/SMTP stand-ins.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.alerts.lifecycle import dismiss, retry
from monitor.delivery.pacing import backoff
from storage import alerts_repo as repo
from storage.models import Alert, Delivery, DeliveryAttempt
from tests.alerts.test_alerts_harness import MAIL_URL, TG_URL, World, make_world, world  # noqa: F401

ONE_TG = {"tg": {"url": TG_URL}}


def test_each_delivery_is_sent_once(world: World) -> None:  # noqa: F811
    world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    report = world.dispatch()
    assert len(report.sent) == 2 and len(world.sender.sent) == 2
    assert {s.url for s in world.sender.sent} == {TG_URL, MAIL_URL}
    world.clock.advance(hours=1)
    assert world.dispatch().sent == [] and len(world.sender.sent) == 2
    assert {d.status for d in world.deliveries()} == {"sent"}


def test_a_failure_is_retried_after_a_backoff_and_every_attempt_is_recorded(tmp_path: Path) -> None:
    w = make_world(tmp_path, channels=ONE_TG, alerts={"retry_base": "30s", "retry_max": "1h"})
    w.report("hrana", persons=("A",))
    w.sender.fail_next(2, "HTTP 503 Service Unavailable")
    first = w.dispatch()
    [delivery] = w.deliveries()
    assert first.retrying == [delivery.id] and delivery.status == "pending"
    wait = delivery.next_attempt_at - w.clock.now
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)
    assert w.dispatch().retrying == [] and w.sender.calls == 1  # not due yet: nothing sent
    w.clock.advance(seconds=30)
    w.dispatch()
    wait = w.deliveries()[0].next_attempt_at - w.clock.now
    assert timedelta(seconds=30) <= wait <= timedelta(seconds=60)  # doubled
    w.clock.advance(seconds=60)
    assert w.dispatch().sent == [delivery.id]
    with w.database.read() as session:
        attempts = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
        assert [(a.number, a.outcome) for a in attempts] == [(1, "failed"), (2, "failed"), (3, "sent")]
        assert attempts[0].error == "HTTP 503 Service Unavailable" and attempts[2].error is None


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    base, cap = timedelta(seconds=10), timedelta(seconds=100)
    for attempts, low, high in ((1, 5, 10), (2, 10, 20), (3, 20, 40), (5, 50, 100), (12, 50, 100)):
        delays = {backoff(attempts, base=base, cap=cap).total_seconds() for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1
    assert backoff(1, base=base, cap=cap, retry_after=300) == timedelta(seconds=300)


def test_a_delivery_dies_after_max_attempts_and_retry_requeues_it(tmp_path: Path) -> None:
    w = make_world(tmp_path, channels=ONE_TG, alerts={"max_attempts": 3, "retry_base": "1s"})
    decision = w.report("hrana", persons=("A",))
    w.sender.fail_next(10, "Unauthorized")
    for _ in range(3):
        w.dispatch()
        w.clock.advance(minutes=5)
    [delivery] = w.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("dead", 3, "Unauthorized")
    with w.database.read() as session:
        assert [a.id for a in repo.list_alerts(session, failed=True)] == [decision.alert_id]
    w.dispatch()
    assert w.sender.calls == 3  # dead stays dead
    w.sender = type(w.sender)(w.clock)  # the channel is fixed
    with w.database.write() as session:
        retry(session, decision.alert_id, now=w.clock.now)
    assert w.dispatch().sent == [delivery.id] and len(w.sender.sent) == 1
    with w.database.read() as session:
        assert repo.list_alerts(session, failed=True) == []


def test_a_429_is_waited_out_without_counting_as_a_failure(tmp_path: Path) -> None:
    w = make_world(tmp_path, channels=ONE_TG, alerts={"max_attempts": 1})
    w.report("hrana", persons=("Prisoner Alpha",))
    w.report("hrana", persons=("Prisoner Beta",))
    w.sender.rate_limit_next(retry_after=30)
    report = w.dispatch()
    assert len(report.retrying) == 1 and report.sent == [] and w.sender.calls == 1  # B waits with A
    first = w.deliveries()[0]
    assert first.status == "pending" and first.next_attempt_at == w.clock.now + timedelta(seconds=30)
    assert "retry after 30s" in (first.last_error or "")
    limited_at = w.clock.now
    w.clock.advance(seconds=20)
    assert w.dispatch().sent == [] and w.sender.calls == 1  # the channel is held, B included
    w.clock.advance(seconds=9)
    assert w.dispatch().sent == []  # B waits behind A (head-of-line), which waits for its Retry-After
    w.clock.advance(seconds=1)
    assert len(w.dispatch().sent) == 2
    assert all(s.at >= limited_at + timedelta(seconds=30) for s in w.sender.sent)
    assert ["Alpha" in body for body in w.sender.bodies()] == [True, False]  # in the order raised
    with w.database.read() as session:
        outcomes = session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["rate_limited", "sent", "sent"]


def test_a_long_alert_resumes_at_the_chunk_that_failed(tmp_path: Path) -> None:
    w = make_world(tmp_path, channels=ONE_TG)
    w.report("hrana", persons=("A",), title=" ".join(f"واژه{n}" for n in range(3000)))

    class FailSecondChunkOnce:
        def __init__(self) -> None:
            self.inner, self.failed = w.sender, False

        def __call__(self, url: str, **kwargs: str):  # type: ignore[no-untyped-def]
            if len(self.inner.sent) == 1 and not self.failed:
                self.failed = True
                from monitor.delivery.notify import SendResult
                return SendResult(False, "connection reset")
            return self.inner(url, **kwargs)

    w.dispatch(sender=FailSecondChunkOnce())
    [delivery] = w.deliveries()
    assert delivery.chunks_sent == 1 and delivery.status == "pending"
    w.clock.advance(hours=1)
    w.dispatch()
    bodies = w.sender.bodies()
    assert len(bodies) >= 3 and len(set(bodies)) == len(bodies)  # chunk 1 was not sent twice
    assert w.deliveries()[0].chunks_sent == len(bodies)


def test_quiet_hours_hold_non_critical_alerts_until_morning(tmp_path: Path) -> None:
    channels = {"tg": {"url": TG_URL, "quiet_hours": {"start": "22:00", "end": "07:00"}}}
    w = make_world(tmp_path, channels=channels)
    w.clock.now = w.clock.now.replace(hour=23, minute=0)
    w.report("hrana", persons=("A",), severity="warning")
    w.report("hrana", persons=("B",), severity="critical")
    report = w.dispatch()
    assert len(report.sent) == 1 and len(report.deferred) == 1  # the critical one breaks through
    assert "B" in w.sender.bodies()[0]
    w.clock.advance(hours=7, minutes=59)  # 06:59
    assert w.dispatch().sent == []
    w.clock.advance(minutes=1)
    assert len(w.dispatch().sent) == 1 and "A" in w.sender.bodies()[1]


def test_non_critical_alerts_wait_for_one_digest_and_critical_ones_do_not(tmp_path: Path) -> None:
    channels = {"mail": {"url": MAIL_URL, "digest": "08:00"}}
    w = make_world(tmp_path, channels=channels)
    w.clock.now = w.clock.now.replace(hour=9)
    w.report("hrana", persons=("Info One",), severity="info", event="arrest")
    w.report("hrana", persons=("Warn Two",), severity="warning", event="transfer")
    w.report("hrana", persons=("Warn Three",), severity="warning", event="transfer")
    w.report("hrana", persons=("Crit Four",), severity="critical", event="execution")
    report = w.dispatch()
    assert len(report.sent) == 1 and len(report.held) == 3
    assert "Crit Four" in w.sender.sent[0].title
    w.clock.advance(hours=22, minutes=59)  # 07:59 next day
    assert w.dispatch().sent == []
    w.clock.advance(minutes=1)
    report = w.dispatch()
    assert len(report.bundles) == 1 and len(report.sent) == 1
    digest = w.sender.sent[1]
    assert digest.title.startswith("[DIGEST] 3 alerts")
    for name in ("Info One", "Warn Two", "Warn Three"):
        assert name in digest.body
    assert {d.status for d in w.deliveries() if d.kind != "digest"} == {"folded", "sent"}
    w.clock.advance(hours=1)
    assert w.dispatch().bundles == []  # one digest per day, however often the dispatcher runs


def test_over_the_rate_limit_alerts_fold_into_one_summary(tmp_path: Path) -> None:
    channels = {"tg": {"url": TG_URL, "rate_limit": {"count": 2, "per": "1h"}}}
    w = make_world(tmp_path, channels=channels)
    for n in range(6):
        w.report("hrana", persons=(f"Person {n}",), severity="critical")
    report = w.dispatch()
    assert len(report.sent) == 2 and len(report.overflowed) == 4
    w.clock.advance(minutes=59)
    assert w.dispatch().sent == []
    w.clock.advance(minutes=1)
    report = w.dispatch()
    assert len(report.bundles) == 1 and len(report.sent) == 1
    summary = w.sender.bodies()[2]
    for n in range(2, 6):
        assert f"Person {n}" in summary
    assert [d.status for d in w.deliveries()] == ["sent", "sent", "folded", "folded", "folded", "folded", "sent"]
    w.clock.advance(hours=2)
    w.report("hrana", persons=("Person 7",), severity="critical")
    assert len(w.dispatch().sent) == 1 and "Person 7" in w.sender.bodies()[3]


def test_a_single_held_back_alert_goes_out_as_itself(tmp_path: Path) -> None:
    channels = {"tg": {"url": TG_URL, "rate_limit": {"count": 1, "per": "10m"}}}
    w = make_world(tmp_path, channels=channels)
    w.report("hrana", persons=("One",), severity="critical")
    w.report("hrana", persons=("Two",), severity="critical")
    assert len(w.dispatch().overflowed) == 1
    w.clock.advance(minutes=10)
    report = w.dispatch()
    assert report.bundles == [] and len(report.sent) == 1 and "Two" in w.sender.bodies()[1]


def test_a_dismissed_alert_is_never_sent(world: World) -> None:  # noqa: F811
    decision = world.report("hrana", persons=("A",), severity="critical")
    with world.database.write() as session:
        dismiss(session, decision.alert_id, reason="wrong person", now=world.clock.now)
    assert world.dispatch().sent == [] and world.sender.calls == 0


def test_a_channel_removed_from_the_config_is_a_dead_letter_until_restored(tmp_path: Path) -> None:
    w = make_world(tmp_path, channels=ONE_TG)
    decision = w.report("hrana", persons=("A",), severity="critical")
    w.reconfigure({"channels": {"other": {"url": MAIL_URL}}})
    report = w.dispatch()
    [delivery] = w.deliveries()
    assert report.dead == [delivery.id] and "'tg' is not configured" in (delivery.last_error or "")
    w.reconfigure({"channels": ONE_TG})
    with w.database.write() as session:
        retry(session, decision.alert_id, now=w.clock.now)
    assert w.dispatch().sent == [delivery.id]


def test_a_send_cut_short_by_a_crash_is_resent_once_after_the_lease(tmp_path: Path) -> None:
    w = make_world(tmp_path, channels=ONE_TG, alerts={"send_lease": "2m"})
    w.report("hrana", persons=("A",), severity="critical")

    def crash(url: str, **kwargs: str) -> None:
        w.sender(url, **kwargs)  # the message is accepted...
        raise SystemExit("killed")  # ...and the process dies before recording it

    with pytest.raises(SystemExit):
        w.dispatch(sender=crash)
    [delivery] = w.deliveries()
    assert delivery.status == "sending" and len(w.sender.sent) == 1
    w.clock.advance(minutes=1)
    assert w.dispatch().sent == []  # still leased: a live dispatcher may be sending it
    w.clock.advance(minutes=1)
    assert w.dispatch().sent == [delivery.id]
    assert len(w.sender.sent) == 2  # the documented at-most-once resend
    with w.database.read() as session:
        outcomes = session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["interrupted", "sent"]


def test_updates_render_as_updates(world: World) -> None:  # noqa: F811
    world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    world.dispatch()
    world.report("iranhrm", persons=("Saeed Masouri",), severity="critical", title="Second outlet")
    world.dispatch()
    last = world.sender.sent[-1]
    assert last.url == TG_URL and "Second outlet" in last.body
    with world.database.read() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.revision == 2
        kinds = session.scalars(select(Delivery.kind).where(Delivery.channel == "tg")).all()
    assert kinds == ["new", "update"]


def test_a_dead_digest_lists_its_alerts_as_failed_and_retrying_one_requeues_the_digest(tmp_path: Path) -> None:
    w = make_world(tmp_path, channels={"mail": {"url": MAIL_URL, "digest": "08:00"}}, alerts={"max_attempts": 1})
    w.clock.now = w.clock.now.replace(hour=9)
    first = w.report("hrana", persons=("One",), severity="info")
    second = w.report("hrana", persons=("Two",), severity="info")
    w.dispatch()
    w.clock.advance(days=1)
    w.sender.fail_next(1, "535 Authentication failed")
    assert len(w.dispatch().dead) == 1
    with w.database.read() as session:
        assert {a.id for a in repo.list_alerts(session, failed=True)} == {first.alert_id, second.alert_id}
    with w.database.write() as session:
        [requeued] = retry(session, second.alert_id, now=w.clock.now)
        assert requeued.kind == "digest"
    assert len(w.dispatch().sent) == 1 and "One" in w.sender.sent[0].body and "Two" in w.sender.sent[0].body
