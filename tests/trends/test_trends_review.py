"""What review does to the trends: a dismissed alert's matches count in no trend, surge or case file; and a
plot of a few days of data is readable (one date label per day, bars not filling the chart).

Through the CLI, on a real config directory and SQLite file; the alerts are raised by the real folding code.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import matplotlib.pyplot as plt
from typer.testing import CliRunner, Result

from monitor.cli import app
from monitor.trends.chart import draw_trend
from monitor.trends.view import trend_view
from tests.alerts.test_alerts_harness import World, make_world

runner = CliRunner()


def tocsin(world: World, *args: str) -> Result:
    return runner.invoke(app, [*args, "--config", str(world.directory)], env={"COLUMNS": "200"})


def executions(world: World, *people: str) -> list[int]:
    return [world.report("iranhrm", event="execution", severity="critical", persons=(person,),
                         title=f"{person} executed", entities={"persons": [person], "count": 1}).alert_id
            for person in people]


def daily_counts(world: World, now: str) -> dict[str, float]:
    result = tocsin(world, "trends", "--series", "executions", "--last", "3", "--now", now, "--json")
    assert result.exit_code == 0, result.output
    return {row["start"]: row["count"] for row in json.loads(result.stdout)["rows"]}


def test_a_dismissed_alert_counts_in_no_trend_and_no_case_file(tmp_path: Path) -> None:
    world = make_world(tmp_path, channels={})
    day = world.clock.now.date().isoformat()
    now = (world.clock.now + timedelta(days=1)).date().isoformat()
    true_one, false_one = executions(world, "Reza Karimi", "Hamid Nouri")
    assert daily_counts(world, now)[day] == 2

    dismissed = tocsin(world, "alerts", "dismiss", str(false_one), "--reason", "an execution abroad, not in Iran")
    assert dismissed.exit_code == 0, dismissed.output
    assert daily_counts(world, now)[day] == 1

    assert tocsin(world, "analyze", "--now", now).exit_code == 0
    assert tocsin(world, "cases", "show", "Reza Karimi").exit_code == 0
    missing = tocsin(world, "cases", "show", "Hamid Nouri")
    assert missing.exit_code == 2 and "no case file" in missing.output
    assert true_one != false_one


def test_a_plot_of_two_days_is_readable(tmp_path: Path) -> None:
    world = make_world(tmp_path, channels={})
    executions(world, "Reza Karimi", "Hamid Nouri")
    world.clock.advance(days=1)
    executions(world, "Ali Rahimi")
    now = world.clock.now + timedelta(days=1)  # both days closed

    with world.database.read() as session:
        view = trend_view(session, world.config.early_warning, series_id="executions", scope=None, bins=2, now=now)
    assert [row.count for row in view.rows] == [2, 1]
    figure = draw_trend(view)
    try:
        axis = figure.axes[0]
        figure.canvas.draw()
        labels = [label.get_text() for label in axis.get_xticklabels()]
        assert labels == [str(row.start) for row in view.rows]  # one label per day, never repeated
        left, right = axis.get_xlim()
        assert right - left >= 7  # a week wide: each bar is a bar, not the whole chart
        assert all(tick == int(tick) for tick in axis.get_yticks())  # whole counts only
    finally:
        plt.close(figure)

    png = tmp_path / "trend.png"
    result = tocsin(world, "trends", "--series", "executions", "--last", "2", "--now", now.isoformat(),
                    "--plot", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(b"\x89PNG") and "2 days" in result.stdout
