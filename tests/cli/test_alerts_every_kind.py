"""Every alert kind (event, removal, surge, escalation, operator) is listed, shown, acknowledged, dismissed and
retried the same way through ``tocsin alerts``; and a channel that comes back after refusing the first
requests gets its queue in the order the alerts were raised (head-of-line per channel).

Real parts: a config directory, a SQLite file, Apprise's ``json://`` channel posting to a loopback webhook.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from monitor.alerts.operator import raise_operator_alert
from monitor.alerts.removals import raise_removal_alerts
from monitor.cli import app
from monitor.trends.alerting import AlertDraft, record_alert
from storage.alerts_repo import alert_reports
from storage.crawl_repo import mark_removed
from tests.alerts.test_alerts_harness import World, make_world
from tests.support.webhook import Webhook

runner = CliRunner()


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with Webhook() as webhook:
        yield webhook


def tocsin(world: World, *args: str) -> Result:
    return runner.invoke(app, [*args, "--config", str(world.directory)])


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def raise_one_of_each(world: World) -> dict[str, int]:
    """An alert of every kind, each raised by the code that raises it in production."""
    ids = {"event": world.report("hrana", persons=("Saeed Masouri",), severity="critical",
                                 title="Masouri moved to solitary").alert_id}
    removed = world.report("irna", event="execution", persons=("Ahmad Rezaei",), severity="warning",
                           title="State media on the execution")
    now = world.clock.now
    with world.database.write() as session:
        [(item_id, _)] = alert_reports(session, removed.alert_id)
        mark_removed(session, item_id, reason="HTTP 404 Not Found", evidence=None, when=now)
    [removal] = raise_removal_alerts(world.database, world.config, now=now)
    ids["removal"] = removal.alert_id
    with world.database.write() as session:
        for kind, title in (("surge", "Executions above their baseline"), ("escalation", "Masouri: sentence")):
            draft = AlertDraft(kind=kind, dedup_key=f"{kind}|test", event_type="execution", severity="critical",
                               subject="Iran", title=title, summary=f"a {kind} alert", details={}, moment=now)
            raised = record_alert(session, world.config, draft, now=now, deliver_within=timedelta(days=7))
            assert raised is not None
            ids[kind] = raised.alert_id
        ids["operator"] = raise_operator_alert(session, world.config, key="source:hrana:degraded",
                                               title="Source hrana is degraded", summary="3 runs", now=now).alert_id
    return ids


def test_every_kind_is_listed_shown_acknowledged_dismissed_and_retried_the_same_way(
    tmp_path: Path, hook: Webhook
) -> None:
    world = make_world(tmp_path, channels={"hook": {"url": hook.apprise_url}}, operator_channel="hook",
                       alerts={"max_attempts": 1})
    ids = raise_one_of_each(world)
    removed_article_alert = ids["removal"] - 1  # the execution alert of the article later removed

    listed = {a["id"]: a["kind"] for a in as_json(tocsin(world, "alerts", "list", "--json"))}
    assert listed == {alert_id: kind for kind, alert_id in ids.items()} | {removed_article_alert: "event"}
    assert tocsin(world, "alerts", "dismiss", str(removed_article_alert), "-r", "not needed here").exit_code == 0
    table = tocsin(world, "alerts", "list").stdout
    for kind in ("surge", "escalation", "operator", "removal"):
        assert kind in table

    hook.refuse_next(1000)  # the channel is down: every delivery is dead after its one attempt
    for _ in range(2 * len(ids)):  # a channel that failed rests until the next run
        tocsin(world, "alerts", "dispatch")
    failed = {a["id"] for a in as_json(tocsin(world, "alerts", "list", "--failed", "--json"))}
    assert set(ids.values()) <= failed  # (with the operator alert that says the channel is down)
    hook.accept_all()

    for kind, alert_id in ids.items():
        shown = tocsin(world, "alerts", "show", str(alert_id))
        assert shown.exit_code == 0, (kind, shown.output)
        assert "hook" in shown.stdout and "dead" in shown.stdout
        retried = tocsin(world, "alerts", "retry", str(alert_id))
        assert retried.exit_code == 0 and "re-queued for hook" in retried.stdout, (kind, retried.output)
    for _ in range(3):
        tocsin(world, "alerts", "dispatch")
    titles = ("Masouri moved to solitary", "above their baseline", "Masouri: sentence", "is degraded", "removed")
    for title in titles:
        assert sum(title in text for text in hook.texts()) == 1, (title, hook.texts())

    for kind in ("event", "surge", "operator"):
        assert tocsin(world, "alerts", "ack", str(ids[kind])).exit_code == 0, kind
    for kind in ("removal", "escalation"):
        result = tocsin(world, "alerts", "dismiss", str(ids[kind]), "--reason", "test of dismissal")
        assert result.exit_code == 0, (kind, result.output)
    states = {a["kind"]: a["state"] for a in as_json(tocsin(world, "alerts", "list", "--json"))}
    assert states == {"event": "acknowledged", "surge": "acknowledged", "operator": "acknowledged",
                      "removal": "dismissed", "escalation": "dismissed"}
    bundle_free = tocsin(world, "alerts", "ack", "9999")
    assert bundle_free.exit_code == 2 and "no alert 9999" in bundle_free.stderr


def test_a_channel_that_refused_the_first_requests_gets_every_alert_once_in_the_order_raised(
    tmp_path: Path, hook: Webhook
) -> None:
    world = make_world(tmp_path, channels={"hook": {"url": hook.apprise_url}},
                       alerts={"max_attempts": 8, "retry_base": "1s", "retry_max": "1s"})
    people = [f"Prisoner Number{n}" for n in range(1, 21)]
    for person in people:
        world.report("hrana", persons=(person,), severity="critical", title=f"{person} transferred")
    hook.refuse_next(3)
    for _ in range(60):  # bounded: the three retries wait about a second each
        assert tocsin(world, "alerts", "dispatch").exit_code == 0
        if len(hook.messages) == len(people):
            break
        time.sleep(0.25)
    arrived = [next(p for p in people if f"{p} transferred" in text) for text in hook.texts()]
    assert arrived == people  # #1 went out after its retries, and only then #2 ... #20
    assert hook.refused == 3
    shown = as_json(tocsin(world, "alerts", "show", str(world.alerts()[0].id), "--json"))
    assert [a["outcome"] for a in shown["attempts"]] == ["failed", "failed", "failed", "sent"]


def test_head_of_line_holds_only_the_channel_that_failed(tmp_path: Path, hook: Webhook) -> None:
    with Webhook() as other:
        world = make_world(tmp_path, channels={"hook": {"url": hook.apprise_url}, "other": {"url": other.apprise_url}},
                           alerts={"max_attempts": 8, "retry_base": "1h", "retry_max": "1h"})
        for n in range(1, 4):
            world.report("hrana", persons=(f"Prisoner Number{n}",), severity="critical")
        hook.refuse_next(1)
        assert tocsin(world, "alerts", "dispatch").exit_code == 0
        assert tocsin(world, "alerts", "dispatch").exit_code == 0
        assert len(other.messages) == 3  # the healthy channel is not held
        assert hook.messages == []  # #1 waits an hour for its retry; #2 and #3 wait behind it
