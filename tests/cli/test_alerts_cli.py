"""``tocsin alerts list|show|ack|dismiss|retry|dispatch`` and ``tocsin notify test`` on a real config and database."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from monitor.cli import app
from monitor.delivery.channels.telegram import TELEGRAM_API_ENV
from tests.alerts.test_alerts_harness import World, make_world
from tests.support.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401 - fixture

runner = CliRunner()


@pytest.fixture
def telegram(fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> FakeTelegram:  # noqa: F811
    monkeypatch.setenv(TELEGRAM_API_ENV, fake_telegram.url)
    return fake_telegram


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cli_world(tmp_path: Path, telegram: FakeTelegram) -> World:
    port = closed_port()
    channels = {"tg": {"url": telegram.apprise_url},
                "mail": {"url": f"mailto://127.0.0.1:{port}/?from=a@example.org&to=b@example.org"}}
    return make_world(tmp_path, channels=channels, alerts={"max_attempts": 1})


def tocsin(world: World, *args: str) -> Result:
    return runner.invoke(app, [*args, "--config", str(world.directory)])


def test_list_show_ack_and_dismiss(cli_world: World) -> None:
    first = cli_world.report("hrana", persons=("Saeed Masouri",), severity="critical", title="Masouri moved")
    cli_world.report("iranhrm", persons=("Saeed Masouri",), severity="critical")
    second = cli_world.report("hrana", event="arrest", persons=("Ali Younesi",), severity="info")

    listed = json.loads(tocsin(cli_world, "alerts", "list", "--json").stdout)
    assert [(a["id"], a["sources"]) for a in listed] == [(second.alert_id, 1), (first.alert_id, 2)]

    shown = tocsin(cli_world, "alerts", "show", str(first.alert_id))
    assert shown.exit_code == 0 and "Masouri moved" in shown.stdout
    assert "https://hrana.example.org/a/1" in shown.stdout

    assert tocsin(cli_world, "alerts", "ack", str(first.alert_id)).exit_code == 0
    missing_reason = tocsin(cli_world, "alerts", "dismiss", str(second.alert_id))
    assert missing_reason.exit_code == 2
    assert tocsin(cli_world, "alerts", "dismiss", str(second.alert_id), "--reason", "not a prisoner").exit_code == 0
    states = {a["id"]: (a["state"], a["dismiss_reason"])
              for a in json.loads(tocsin(cli_world, "alerts", "list", "--json").stdout)}
    assert states == {first.alert_id: ("acknowledged", None), second.alert_id: ("dismissed", "not a prisoner")}
    unknown = tocsin(cli_world, "alerts", "ack", "999")
    assert unknown.exit_code == 2 and "no alert 999" in unknown.stderr


def test_failed_deliveries_are_listed_and_retried(cli_world: World, telegram: FakeTelegram) -> None:
    decision = cli_world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    cli_world.clock.now = cli_world.clock.now.replace(year=2000)  # everything below is due at once
    telegram.fail_next(1, status=500)
    dispatched = tocsin(cli_world, "alerts", "dispatch", "--json")
    assert dispatched.exit_code == 0
    assert len(json.loads(dispatched.stdout)["dead"]) == 2  # tg failed once, mail is unreachable

    failed = json.loads(tocsin(cli_world, "alerts", "list", "--failed", "--json").stdout)
    assert [a["id"] for a in failed] == [decision.alert_id]
    shown = json.loads(tocsin(cli_world, "alerts", "show", str(decision.alert_id), "--json").stdout)
    assert {d["channel"]: d["status"] for d in shown["deliveries"]} == {"tg": "dead", "mail": "dead"}
    assert all(a["outcome"] == "failed" and a["error"] for a in shown["attempts"])

    retried = tocsin(cli_world, "alerts", "retry", str(decision.alert_id))
    assert retried.exit_code == 0 and "re-queued" in retried.stdout
    dispatched = json.loads(tocsin(cli_world, "alerts", "dispatch", "--json").stdout)
    assert len(dispatched["sent"]) == 1 and len(telegram.messages) == 1
    again = tocsin(cli_world, "alerts", "retry", str(decision.alert_id))  # mail is still unreachable
    assert again.exit_code == 0 and "re-queued for mail;" in again.stdout


def test_notify_test_succeeds_on_a_working_channel(cli_world: World, telegram: FakeTelegram) -> None:
    result = tocsin(cli_world, "notify", "test", "--channel", "tg")
    assert result.exit_code == 0, result.output
    assert "ok tg tgram://" in result.stdout
    assert telegram.token.split(":")[1] not in result.stdout  # the secret never shows
    assert "Tocsin test message" in telegram.texts()[0]


def test_notify_test_prints_exactly_why_a_channel_failed(cli_world: World, telegram: FakeTelegram) -> None:
    telegram.fail_next(1, status=400, description="Bad Request: chat not found")
    result = tocsin(cli_world, "notify", "test")
    assert result.exit_code == 1
    assert "FAILED tg" in result.stdout and "chat not found" in result.stdout
    assert "FAILED mail" in result.stdout and "refused" in result.stdout.lower()


def test_notify_test_rejects_an_unknown_channel(cli_world: World) -> None:
    result = tocsin(cli_world, "notify", "test", "--channel", "nope")
    assert result.exit_code == 2 and "no channel named 'nope'" in result.stderr


def test_scraped_text_is_printed_literally_not_as_terminal_markup(cli_world: World) -> None:
    decision = cli_world.report("hrana", persons=("Ali",), severity="info", title="[red]x[/red] [link=http://e]")
    listed = tocsin(cli_world, "alerts", "list")
    shown = tocsin(cli_world, "alerts", "show", str(decision.alert_id))
    assert "[red]x[/red]" in listed.stdout and "[red]x[/red] [link=http://e]" in shown.stdout
