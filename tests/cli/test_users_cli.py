"""``tocsin users add|list|disable|passwd|token`` and ``tocsin alerts ack|escalate|dismiss`` writing the audit
log, on a real config and SQLite database (the same functions as the console's pages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from monitor.cli import app
from monitor.console.security import digest, password_matches, token_viewer
from monitor.service.app import App
from storage import console_repo as repo
from tests.alerts.test_alerts_harness import make_world

runner = CliRunner()


def tocsin(config: Path, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, [*args, "--config", str(config)], input=stdin)


def test_users_from_the_shell(tmp_config: Callable[..., Path]) -> None:
    config = tmp_config()
    added = tocsin(config, "users", "add", "maryam", "--role", "analyst", stdin="a long passphrase\n")
    assert added.exit_code == 0, added.output
    assert tocsin(config, "users", "add", "maryam", stdin="another passphrase\n").exit_code == 2  # exists
    weak = tocsin(config, "users", "add", "omid", stdin="short\n")
    assert weak.exit_code == 2 and "at least 10 characters" in weak.output
    bad_role = tocsin(config, "users", "add", "omid", "--role", "root", stdin="a long passphrase\n")
    assert bad_role.exit_code == 2 and "viewer, analyst, admin" in bad_role.output

    token_run = tocsin(config, "users", "token", "maryam")
    assert token_run.exit_code == 0
    token = token_run.stdout.strip().splitlines()[0]
    assert len(token) >= 40

    listed = json.loads(tocsin(config, "users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["disabled"], u["api_tokens"]) for u in listed] == [
        ("maryam", "analyst", False, 1)]

    changed = tocsin(config, "users", "passwd", "maryam", stdin="a new long passphrase\n")
    assert changed.exit_code == 0
    assert tocsin(config, "users", "disable", "maryam").exit_code == 0
    opened = App.open(config)
    try:
        with opened.database.write() as session:
            user = repo.user_by_name(session, "maryam")
            assert user is not None and user.disabled_at is not None
            assert password_matches(user.password_hash, "a new long passphrase")
            assert repo.token_by_hash(session, digest(token)) is not None  # the hash, never the token
            assert token_viewer(session, token) is None  # a disabled user's token stops working
            actions = [e.action for e in repo.recent_audit(session)][::-1]
            assert actions == ["user.add", "user.token", "user.passwd", "user.disable"]
            assert all(e.actor.startswith("cli") for e in repo.recent_audit(session))
    finally:
        opened.close()
    assert tocsin(config, "users", "disable", "maryam", "--enable").exit_code == 0
    assert tocsin(config, "users", "token", "nobody").exit_code == 2


def test_triage_from_the_shell_is_in_the_audit_log(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    first = world.report("hrana", persons=("Saeed Masouri",), severity="critical")
    second = world.report("hrana", event="arrest", persons=("Ali Younesi",), severity="info")
    escalated = tocsin(world.directory, "alerts", "escalate", str(first.alert_id), "--note", "call the family")
    assert escalated.exit_code == 0
    assert tocsin(world.directory, "alerts", "ack", str(first.alert_id)).exit_code == 0
    assert tocsin(world.directory, "alerts", "dismiss", str(second.alert_id), "-r", "not him").exit_code == 0
    with world.database.read() as session:
        trail = [(e.action, e.detail.get("from"), e.detail.get("to"))
                 for e in repo.alert_audit(session, first.alert_id)]
        assert trail == [("alert.escalate", "new", "escalated"), ("alert.acknowledge", "escalated", "acknowledged")]
        assert repo.alert_audit(session, first.alert_id)[0].detail["note"] == "call the family"
        assert repo.alert_audit(session, second.alert_id)[0].detail["reason"] == "not him"


def test_items_search_from_the_shell(tmp_config: Callable[..., Path]) -> None:
    from datetime import UTC, datetime

    from storage.records import ItemRecord
    from storage.repository import store_item, sync_source

    config = tmp_config()
    opened = App.open(config)
    try:
        with opened.database.write() as session:
            sync_source(session, source_id="s", kind="feed", name="S", url="http://127.0.0.1/", tags=[])
            store_item(session, ItemRecord(source_id="s", url="http://127.0.0.1/a", title="انتقال",
                                           text="سعيد ماسوري به زندان زاهدان منتقل شد.", lang="fa",
                                           fetched_at=datetime.now(UTC)))
    finally:
        opened.close()
    found = json.loads(tocsin(config, "items", "search", "ماسوری زاهدان", "--json").stdout)
    assert found["total"] == 1 and found["items"][0]["url"] == "http://127.0.0.1/a"
    assert json.loads(tocsin(config, "items", "search", "تهران", "--json").stdout)["total"] == 0
