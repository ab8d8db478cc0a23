"""The weekly rhetoric trend: state media calling to repeat 1988, judged like executions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from config.loader import TocsinConfig
from monitor.trends.analysis import analyze
from storage.db import Database
from tests.trends.conftest import alert_facts
from tests.trends.streams import Planned, StreamWriter, local_midnight

MONDAY = date(2025, 3, 17)  # weeks run Monday to Sunday (ISO), in Tehran time
QUIET = [0, 1, 0, 0, 2, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1]  # rhetoric items per week before July 2025
STATE = ["fars", "tasnim", "kayhan"]


def rhetoric(week: int, number: int, source: str | None = None) -> Planned:
    at = local_midnight(MONDAY + timedelta(weeks=week, days=number % 7)) + timedelta(hours=10 + number)
    return Planned(source or STATE[number % 3], at, "rhetoric", {"count": None},
                   f"editorial {week}.{number}: the lessons of 1367", severity="critical")


def stream(surge: list[int]) -> list[Planned]:
    weeks = QUIET + surge
    return [rhetoric(week, n) for week, count in enumerate(weeks) for n in range(count)]


def run(database: Database, config: TocsinConfig, planned: list[Planned], weeks: int) -> list[Any]:
    StreamWriter(database).write(planned)
    with database.write() as session:
        return analyze(session, config, now=local_midnight(MONDAY + timedelta(weeks=weeks)))


def test_a_week_of_calls_to_repeat_1988_alerts_once(database: Database,
                                                    make_config: Callable[..., TocsinConfig]) -> None:
    raised = run(database, make_config(), stream([4, 3, 0]), weeks=len(QUIET) + 3)
    assert [r.kind for r in raised] == ["surge"]
    [fact] = alert_facts(database, "surge")
    details = fact["details"]
    surge_week = MONDAY + timedelta(weeks=len(QUIET))
    assert (details["series"], details["window_from"], details["window_to"]) == (
        "rhetoric", surge_week.isoformat(), (surge_week + timedelta(days=6)).isoformat())
    assert details["observed"] == 4 and details["items"] == 4
    assert details["expected"] == round((sum(QUIET[-12:]) + 0.5) / 12, 3)
    assert fact["at"] == local_midnight(surge_week + timedelta(weeks=1))  # when the week closed
    assert fact["title"] == f"Surge in state-media rhetoric: 4 in 1 week to {surge_week + timedelta(days=6)} " \
                            f"(expected {details['expected']:.1f})"


def test_an_isolated_editorial_does_not_alert(database: Database, make_config: Callable[..., TocsinConfig]) -> None:
    assert run(database, make_config(), stream([1, 2, 0]), weeks=len(QUIET) + 3) == []


def test_only_the_configured_outlets_count(database: Database, make_config: Callable[..., TocsinConfig]) -> None:
    """With rhetoric limited to state media, rights sites quoting the editorial add nothing."""
    config = make_config({"rhetoric": {"source_tags": ["state_media"]}})
    quoted = [rhetoric(len(QUIET), n, source) for n, source in enumerate(["iranhrm", "hrana", "hengaw", "fars"])]
    assert run(database, config, stream([]) + quoted, weeks=len(QUIET) + 2) == []
