"""Faults: a channel that is down, a dispatcher killed mid-send. Every alert arrives, and exactly once,
except the one message in flight at a kill, which may arrive twice (the documented window). A failure no
retry can fix (chat not found, token rejected, SMTP 5xx) is given up at once and told to the operator once."""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select
from typer.testing import CliRunner

from monitor.alerts.lifecycle import acknowledge
from monitor.cli import app as cli_app
from monitor.delivery import notify
from monitor.delivery.channels.telegram import TELEGRAM_API_ENV
from monitor.delivery.dead_channels import CHANNEL_ALERT_WINDOW
from monitor.delivery.dispatch import TEST_HOOK_ENV, dispatch_due
from monitor.delivery.notify import SendResult
from storage.models import Alert, DeliveryAttempt, utcnow
from tests.alerts.test_alerts_harness import TG_URL, World, make_world
from tests.support.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401 - fixture
from tests.support.smtp import SmtpServer, smtp_server, smtp_server_factory  # noqa: F401 - fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]
PEOPLE = [f"Prisoner Number{n}" for n in range(1, 6)]


@pytest.fixture
def telegram(fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> FakeTelegram:  # noqa: F811
    monkeypatch.setenv(TELEGRAM_API_ENV, fake_telegram.url)
    return fake_telegram


def count_mentions(texts: list[str], name: str) -> int:
    return sum(1 for text in texts if name in text)


def test_channels_down_for_the_first_attempts_deliver_every_alert_once_when_they_recover(
    tmp_path: Path, telegram: FakeTelegram, smtp_server: SmtpServer  # noqa: F811
) -> None:
    channels = {"tg": {"url": telegram.apprise_url}, "mail": {"url": smtp_server.url()}}
    world = make_world(tmp_path, channels=channels, alerts={"max_attempts": 8, "retry_base": "30s"})
    world.sender = notify.send  # type: ignore[assignment]
    telegram.fail_next(4, status=503, description="Service Unavailable")
    smtp_server.refuse_next(3, code=451)
    for person in PEOPLE:
        world.report("hrana", persons=(person,), severity="critical")
    for _ in range(10):
        world.dispatch()
        world.clock.advance(hours=1)
    assert {d.status for d in world.deliveries()} == {"sent"}
    texts = telegram.texts()
    subjects = [str(m["Subject"]) for m in smtp_server.messages]
    for person in PEOPLE:
        assert count_mentions(texts, person) == 1, person
        assert count_mentions(subjects, person) == 1, person
    order = [next(p for p in PEOPLE if p in text) for text in texts]
    assert order == PEOPLE  # a recovered channel gets the alerts in the order they were raised
    assert smtp_server.refused == 3


def read_marker(process: subprocess.Popen[str], *, deadline: float = 60.0) -> str:
    """The hook's marker line from the child's stdout (fails the test if it never comes)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], deadline)
    if not ready:
        process.kill()
        pytest.fail("the dispatcher never reached the test hook")
    return process.stdout.readline().strip()


def test_a_dispatcher_killed_between_send_and_commit_resends_only_the_message_in_flight(
    tmp_path: Path, telegram: FakeTelegram  # noqa: F811
) -> None:
    world = make_world(tmp_path, channels={"tg": {"url": telegram.apprise_url}})
    world.clock.now = utcnow()
    for person in PEOPLE:
        world.report("hrana", persons=(person,), severity="critical")
    env = {**os.environ, TEST_HOOK_ENV: "after_send:2", TELEGRAM_API_ENV: telegram.url,
           "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "alerts", "dispatch", "--config", str(world.directory)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert read_marker(process) == "TOCSIN-TEST-HOOK after_send 2"
        os.kill(process.pid, signal.SIGKILL)  # Telegram has the 2nd message; the database does not know
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert telegram.texts() and [count_mentions(telegram.texts(), p) for p in PEOPLE] == [1, 1, 0, 0, 0]
    assert [d.status for d in world.deliveries()] == ["sent", "sending", "pending", "pending", "pending"]

    # Restart at once: everything not in flight goes out; the interrupted one waits for its lease.
    report = dispatch_due(world.database, world.config)
    assert len(report.sent) == 3
    assert [count_mentions(telegram.texts(), p) for p in PEOPLE] == [1, 1, 1, 1, 1]

    # After the lease the interrupted delivery is sent again: the one documented duplicate.
    lease = world.config.settings.alerts.send_lease
    report = dispatch_due(world.database, world.config, now=utcnow() + lease + timedelta(seconds=1))
    assert len(report.sent) == 1
    assert [count_mentions(telegram.texts(), p) for p in PEOPLE] == [1, 2, 1, 1, 1]
    assert {d.status for d in world.deliveries()} == {"sent"}
    with world.database.read() as session:
        outcomes = session.scalars(sql_select(DeliveryAttempt.outcome).where(
            DeliveryAttempt.delivery_id == world.deliveries()[1].id).order_by(DeliveryAttempt.id)).all()
    assert outcomes == ["interrupted", "sent"]


# --- failures no retry can fix: dead at once, one operator alert per channel -----------------------------

OPS = "ops"


def world_with_operator_mail(tmp_path: Path, telegram: FakeTelegram, smtp_server: SmtpServer) -> World:  # noqa: F811
    """Event alerts go to Telegram; operator alerts to email (a real aiosmtpd server); real sends."""
    channels = {"tg": {"url": telegram.apprise_url},
                OPS: {"url": smtp_server.url(), "min_severity": "critical"}}
    world = make_world(tmp_path, channels=channels, operator_channel=OPS,
                       alerts={"max_attempts": 8, "retry_base": "30s"})
    world.sender = notify.send  # type: ignore[assignment]
    world.clock.now = utcnow()  # `tocsin alerts retry` re-queues at the real time
    return world


def attempts_of(world: World, delivery_id: int) -> list[tuple[str, str | None]]:
    with world.database.read() as session:
        rows = session.scalars(sql_select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                               .order_by(DeliveryAttempt.id)).all()
        return [(row.outcome, row.error) for row in rows]


def operator_alerts(world: World) -> list[Alert]:
    with world.database.read() as session:
        found = list(session.scalars(sql_select(Alert).where(Alert.kind == "operator").order_by(Alert.id)))
        session.expunge_all()
        return found


def test_chat_not_found_is_dead_after_one_attempt_with_the_reason_and_one_operator_alert(
    tmp_path: Path, telegram: FakeTelegram, smtp_server: SmtpServer  # noqa: F811
) -> None:
    world = world_with_operator_mail(tmp_path, telegram, smtp_server)
    telegram.fail_next(2, status=400, description="Bad Request: chat not found")
    first = world.report("hrana", persons=(PEOPLE[0],))
    world.report("hrana", persons=(PEOPLE[1],))

    report = world.dispatch()
    one, two = world.deliveries(channel="tg")
    assert report.dead == [one.id] and one.status == "dead" and two.status == "pending"
    assert one.last_error is not None and "chat not found" in one.last_error
    assert "TELEGRAM_CHAT_ID" in one.last_error
    assert [outcome for outcome, _ in attempts_of(world, one.id)] == ["failed"]  # one try, not eight
    [mail] = smtp_server.messages  # the operator hears at once
    assert "Channel tg" in str(mail["Subject"])

    world.clock.advance(minutes=5)
    world.dispatch()
    assert [d.status for d in world.deliveries(channel="tg")] == ["dead", "dead"]
    assert len(smtp_server.messages) == 1  # the open operator alert is refreshed, not sent again
    [channel_alert] = operator_alerts(world)
    assert channel_alert.state == "new"

    # The operator fixes the chat (the fake stops refusing) and re-sends what was missed.
    retried = CliRunner().invoke(cli_app, ["alerts", "retry", str(first.alert_id), "--config",
                                           str(world.directory)])
    assert retried.exit_code == 0, retried.stdout
    assert world.clock.now >= utcnow()  # the world's clock is ahead of the re-queue time: it is due
    assert len(world.dispatch().sent) == 1
    assert count_mentions(telegram.texts(), PEOPLE[0]) == 1
    assert [r.status for r in telegram.requests] == [400, 400, 200]  # no pointless retries
    [channel_alert] = operator_alerts(world)
    assert channel_alert.state == "acknowledged"  # resolved: the channel delivers again


def test_a_rejected_token_is_dead_at_once_and_never_shown(
    tmp_path: Path, telegram: FakeTelegram, smtp_server: SmtpServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    world = world_with_operator_mail(tmp_path, telegram, smtp_server)
    telegram.fail_next(1, status=401, description="Unauthorized")
    world.report("hrana", persons=(PEOPLE[0],))
    world.dispatch()

    [delivery] = world.deliveries(channel="tg")
    attempts = attempts_of(world, delivery.id)
    assert delivery.status == "dead" and len(attempts) == 1
    assert delivery.last_error is not None and "TELEGRAM_BOT_TOKEN" in delivery.last_error
    [channel_alert] = operator_alerts(world)
    [mail] = smtp_server.messages
    secret = FakeTelegram.token.split(":", 1)[1]
    shown = [delivery.last_error, *(error or "" for _, error in attempts), channel_alert.title,
             channel_alert.summary, mail.as_string(), caplog.text,
             *(record.getMessage() for record in caplog.records)]
    assert "/bot****/sendMessage" in caplog.text  # the request was logged, masked
    assert all(secret not in text for text in shown)


def test_a_server_error_is_retried_and_then_sent(
    tmp_path: Path, telegram: FakeTelegram, smtp_server: SmtpServer  # noqa: F811
) -> None:
    world = world_with_operator_mail(tmp_path, telegram, smtp_server)
    telegram.fail_next(1, status=500, description="Internal Server Error")
    world.report("hrana", persons=(PEOPLE[0],))
    assert world.dispatch().retrying and world.deliveries(channel="tg")[0].status == "pending"
    world.clock.advance(hours=1)
    assert world.dispatch().sent
    assert count_mentions(telegram.texts(), PEOPLE[0]) == 1
    assert operator_alerts(world) == [] and smtp_server.messages == []


@pytest.mark.parametrize(("code", "statuses"), [(550, ["dead"]), (451, ["pending", "sent"])],
                         ids=["550 is dead at once", "451 is retried"])
def test_smtp_permanent_refusals_are_dead_at_once_and_temporary_ones_retried(
    tmp_path: Path, smtp_server: SmtpServer, code: int, statuses: list[str]  # noqa: F811
) -> None:
    world = make_world(tmp_path, channels={"mail": {"url": smtp_server.url()}},
                       alerts={"max_attempts": 8, "retry_base": "30s"})
    world.sender = notify.send  # type: ignore[assignment]
    smtp_server.refuse_next(1, code=code)
    world.report("hrana", persons=(PEOPLE[0],))
    seen = []
    for _ in statuses:
        world.dispatch()
        [delivery] = world.deliveries()
        seen.append(delivery.status)
        world.clock.advance(hours=1)
    assert seen == statuses
    assert smtp_server.refused == 1
    if code == 550:
        assert delivery.last_error is not None and "SMTP 550" in delivery.last_error
        assert [a.subject for a in operator_alerts(world)] == ["channel:mail:dead"]  # stored, logged
    else:
        assert len(smtp_server.messages) == 1 and operator_alerts(world) == []


def gone_for_good(url: str, **_: str) -> SendResult:
    if url.startswith("tgram://"):
        return SendResult(False, "Telegram: chat not found — check TELEGRAM_CHAT_ID", permanent=True)
    return SendResult(True)


def test_one_operator_alert_per_channel_per_window(tmp_path: Path) -> None:
    world = make_world(tmp_path, operator_channel="mail")  # tg (warning and up) and mail (everything)
    world.report("hrana", persons=(PEOPLE[0],))
    world.dispatch(sender=gone_for_good)
    [first] = operator_alerts(world)
    with world.database.write() as session:
        acknowledge(session, first.id)  # "I'm on it" -- but the channel stays broken

    world.clock.advance(hours=1)
    world.report("hrana", persons=(PEOPLE[1],))
    world.dispatch(sender=gone_for_good)
    assert len(operator_alerts(world)) == 1  # within the window: no new alert

    world.clock.advance(seconds=CHANNEL_ALERT_WINDOW.total_seconds())
    world.report("hrana", persons=(PEOPLE[2],))
    world.dispatch(sender=gone_for_good)
    alerts = operator_alerts(world)
    assert len(alerts) == 2 and alerts[1].state == "new"  # after it: news again
    assert {d.status for d in world.deliveries(channel="tg")} == {"dead"}
    assert [d.status for d in world.deliveries(channel="mail") if d.alert_id in {a.id for a in alerts}] \
        == ["sent", "sent"]


def test_a_broken_operator_channel_raises_no_alert_about_its_own_alert(tmp_path: Path) -> None:
    world = make_world(tmp_path, channels={"tg": {"url": TG_URL}}, operator_channel="tg")
    world.report("hrana", persons=(PEOPLE[0],))
    for _ in range(3):
        world.dispatch(sender=gone_for_good)
        world.clock.advance(hours=1)
    [only] = operator_alerts(world)
    assert {d.status for d in world.deliveries()} == {"dead"}
    assert len(world.deliveries(alert_id=only.id)) == 1
