"""``tocsin alerts show`` and ``tocsin items show`` read like a report: the rule, the people, each source with
the words that fired as published, the deliveries; scraped text is printed literally, never as markup."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from monitor.cli import app
from tests.alerts.test_alerts_harness import World, make_world

runner = CliRunner()
HOSTILE_TITLE = "[bold red]Masouri[/] moved <b>now</b>"
TEXT = ("Tehran, 3 March. The lawyer of Saeed Masouri said that his client, like Etemadi-Far, was moved to\n"
        "solitary confinement on Tuesday, a step that has preceded executions in Ghezel Hesar.")
TRIGGER = "moved to\nsolitary confinement"


def tocsin(world: World, *args: str) -> Result:
    return runner.invoke(app, [*args, "--config", str(world.directory)], env={"COLUMNS": "120"})


def reported(tmp_path: Path) -> tuple[World, int]:
    world = make_world(tmp_path, channels={})
    start = TEXT.index(TRIGGER)
    decision = world.report("hrana", persons=("Saeed Masouri",), severity="critical", title=HOSTILE_TITLE,
                            text=TEXT, rule="transfer.solitary", spans=[[start, start + len(TRIGGER)]],
                            entities={"persons": ["Saeed Masouri"], "prison_to": "Ghezel Hesar"},
                            url="https://hrana.example.org/news/masouri")
    return world, decision.alert_id


def test_alerts_show_gives_rule_people_sources_and_the_words_that_fired(tmp_path: Path) -> None:
    world, alert_id = reported(tmp_path)
    result = tocsin(world, "alerts", "show", str(alert_id))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"#{alert_id} CRITICAL event transfer · Saeed Masouri (new)" in out
    assert HOSTILE_TITLE in out  # literally, not as rich markup
    assert "rule transfer.solitary" in out
    assert "persons: Saeed Masouri" in out and "prison_to: Ghezel Hesar" in out
    assert "HRANA: " in out and "https://hrana.example.org/news/masouri" in out
    # The trigger whole, the words around it exactly as published (one line break became a space).
    assert ("“… March. The lawyer of Saeed Masouri said that his client, like Etemadi-Far, was moved to solitary "
            "confinement on Tuesday, a step that") in out

    shown = json.loads(tocsin(world, "alerts", "show", str(alert_id), "--json").stdout)
    assert shown["items"][0]["excerpt"]["trigger"] == "moved to solitary confinement"


def test_items_show_prints_entities_readably_and_titles_literally(tmp_path: Path) -> None:
    world, _ = reported(tmp_path)
    result = tocsin(world, "items", "show", "1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert HOSTILE_TITLE in out
    assert "match transfer.solitary → transfer (critical)" in out
    assert "persons: Saeed Masouri" in out and "{'persons'" not in out
    assert "was moved to solitary confinement on" in out
