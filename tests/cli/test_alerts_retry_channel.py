"""``tocsin alerts retry --channel NAME``: after a channel outage, every dead delivery to it in one command.

Real config directory, real SQLite file, the fake Telegram Bot API on loopback, the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.delivery import notify
from storage.alerts_repo import FINAL_STATUSES
from tests.alerts.test_alerts_harness import World, make_world
from tests.cli.test_alerts_cli import closed_port, telegram, tocsin  # noqa: F401 - telegram: fixture
from tests.support.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401 - fixture

CHAT_NOT_FOUND = "Bad Request: chat not found"


@pytest.fixture
def world(tmp_path: Path, telegram: FakeTelegram) -> Iterator[World]:  # noqa: F811
    """tg (non-critical alerts wait for its 08:00 digest) and mail (an SMTP port nobody listens on)."""
    channels = {
        "tg": {"url": telegram.apprise_url, "min_severity": "info", "digest": "08:00"},
        "mail": {"url": f"mailto://127.0.0.1:{closed_port()}/?from=a@example.org&to=b@example.org",
                 "min_severity": "info"},
    }
    made = make_world(tmp_path, channels=channels, alerts={"max_attempts": 3})
    made.clock.now = made.clock.now.replace(hour=9)
    yield made
    made.database.dispose()


def statuses(world: World, channel: str) -> dict[tuple[int, str], str]:
    return {(d.alert_id, d.kind): d.status for d in world.deliveries(channel=channel)}


def dispatch_until_settled(world: World) -> list[int]:
    """Dispatch every two (fake) hours until no delivery is left to try; the digests made on the way."""
    bundles: list[int] = []
    for _ in range(40):
        bundles += world.dispatch(sender=notify.send).bundles
        if all(d.status in FINAL_STATUSES for d in world.deliveries()):
            return bundles
        world.clock.advance(hours=2)
    raise AssertionError(f"deliveries still unfinished: {statuses(world, 'tg')} {statuses(world, 'mail')}")


def test_retry_channel_requeues_only_that_channels_dead_deliveries_and_they_are_sent(
    world: World, telegram: FakeTelegram  # noqa: F811
) -> None:
    critical = world.report("hrana", persons=("Saeed Masouri",), severity="critical", title="Masouri moved")
    info_one = world.report("hrana", persons=("Ali Younesi",), severity="info", event="arrest")
    info_two = world.report("iranhrm", persons=("Reza Khandan",), severity="info", event="arrest")
    false_positive = world.report("hrana", persons=("Old Case",), severity="critical", event="execution")
    # A wrong chat id: Telegram says "chat not found", which no retry can fix, so each send is dead at once.
    telegram.fail_next(3, status=400, description=CHAT_NOT_FOUND)
    bundles = dispatch_until_settled(world)  # the info alerts wait for tg's digest at 08:00 the next day

    [digest_id] = bundles
    assert [r.status for r in telegram.requests] == [400, 400, 400] and telegram.messages == []
    assert statuses(world, "tg") == {
        (critical.alert_id, "new"): "dead", (false_positive.alert_id, "new"): "dead",
        (info_one.alert_id, "new"): "folded", (info_two.alert_id, "new"): "folded",
        (digest_id, "digest"): "dead",
    }
    # mail is unreachable: each of its four deliveries is dead after alerts.max_attempts
    assert list(statuses(world, "mail").values()) == ["dead"] * 4
    assert tocsin(world, "alerts", "dismiss", str(false_positive.alert_id), "--reason", "2019 case").exit_code == 0

    retried = tocsin(world, "alerts", "retry", "--channel", "tg")

    assert retried.exit_code == 0, retried.output
    assert "tg: re-queued 2 dead deliveries" in retried.stdout  # the critical alert and the digest
    assert statuses(world, "tg") == {
        (critical.alert_id, "new"): "pending", (false_positive.alert_id, "new"): "dead",
        (info_one.alert_id, "new"): "folded", (info_two.alert_id, "new"): "folded",
        (digest_id, "digest"): "pending",
    }
    assert set(statuses(world, "mail").values()) == {"dead"}  # another channel's are left alone

    dispatched = tocsin(world, "alerts", "dispatch", "--json")  # the chat id is fixed: Telegram accepts

    assert dispatched.exit_code == 0, dispatched.output
    report = json.loads(dispatched.stdout)
    assert len(report["sent"]) == 2 and report["dead"] == [] and report["retrying"] == []
    texts = telegram.texts()
    assert len(texts) == 2
    assert any("Masouri moved" in text for text in texts)
    [digest_text] = [text for text in texts if "Ali Younesi" in text]
    assert "Reza Khandan" in digest_text
    assert "Old Case" not in "".join(texts)
    assert statuses(world, "tg")[(critical.alert_id, "new")] == "sent"
    assert statuses(world, "tg")[(digest_id, "digest")] == "sent"
    again = tocsin(world, "alerts", "retry", "--channel", "tg")
    assert again.exit_code == 0 and "tg: re-queued 0" in again.stdout


def test_a_retried_delivery_gets_a_fresh_attempt_budget(world: World, telegram: FakeTelegram) -> None:  # noqa: F811
    world.reconfigure({"channels": {"tg": {"url": telegram.apprise_url}}, "alerts": {"max_attempts": 2}})
    decision = world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    telegram.fail_next(2, status=502, description="Bad Gateway")  # transient: retried, then dead
    world.dispatch(sender=notify.send)
    world.clock.advance(hours=2)
    world.dispatch(sender=notify.send)
    assert statuses(world, "tg") == {(decision.alert_id, "new"): "dead"}

    assert "re-queued 1 dead delivery" in tocsin(world, "alerts", "retry", "--channel", "tg").stdout
    telegram.fail_next(1, status=502, description="Bad Gateway")
    world.clock.now = world.clock.now.replace(year=2100)  # the re-queued delivery is due
    world.dispatch(sender=notify.send)

    # Two failures before the retry no longer count: one failure after it leaves one attempt to go.
    assert statuses(world, "tg") == {(decision.alert_id, "new"): "pending"}
    world.clock.advance(hours=2)
    assert len(world.dispatch(sender=notify.send).sent) == 1 and len(telegram.messages) == 1


@pytest.mark.parametrize("args", [[], ["1", "--channel", "tg"]], ids=["neither", "both"])
def test_retry_needs_an_alert_id_or_a_channel(world: World, args: list[str]) -> None:
    result = tocsin(world, "alerts", "retry", *args)
    assert result.exit_code == 2
    assert "give an alert ID" in result.stderr and "--channel" in result.stderr


def test_retry_names_the_configured_channels_when_the_channel_is_unknown(world: World) -> None:
    result = tocsin(world, "alerts", "retry", "--channel", "telegram")
    assert result.exit_code == 2
    assert "no channel named 'telegram' (configured: mail, tg)" in result.stderr
