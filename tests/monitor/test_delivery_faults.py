"""Faults: a channel that is down, a dispatcher killed mid-send. Every alert arrives, and exactly once,
except the one message in flight at a kill, which may arrive twice (the documented window)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select as sql_select

from monitor import notify
from monitor.dispatch import TEST_HOOK_ENV, dispatch_due
from storage.models import DeliveryAttempt, utcnow
from tests.monitor.test_alerts_harness import make_world
from tests.support.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401 - fixture
from tests.support.smtp import SmtpServer, smtp_server, smtp_server_factory  # noqa: F401 - fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]
PEOPLE = [f"Prisoner Number{n}" for n in range(1, 6)]


@pytest.fixture
def telegram(fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> FakeTelegram:  # noqa: F811
    monkeypatch.setenv(notify.TELEGRAM_API_ENV, fake_telegram.url)
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
    env = {**os.environ, TEST_HOOK_ENV: "after_send:2", notify.TELEGRAM_API_ENV: telegram.url,
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
