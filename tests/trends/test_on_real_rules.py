"""The early-warning layer on what the real pipeline stores: the bundled demo site crawled with the real
spiders, matched by the shipped rules, then analysed as of a moment just after the demo's July 2025 dates.

This is the seam the hand-written streams of the other tests cannot check: entity keys, canonical names and
event types as the rules engine really writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.alerts.matching import process_pending
from monitor.cli import app as cli
from monitor.cli.demo import DEMO_SITE, write_demo_config
from monitor.demo.server import SiteServer
from monitor.service.app import App
from monitor.service.crawl_round import crawl_source
from monitor.trends.alerting import RaisedAlert
from monitor.trends.analysis import analyze, provinces_by_name
from monitor.trends.calendar import Calendar
from monitor.trends.events import cluster, reports_from_rows
from monitor.trends.surge import SeriesSpec, build_series
from storage.models import Alert, CaseEvent, CaseFile
from storage.trends_repo import match_rows

NOW = datetime(2025, 7, 28, 12, 0, tzinfo=UTC)  # the day after the demo's last post
AHVAZ = ("Farshad Etemadi-Far", "Masoud Jamei", "Alireza Mardasi")


@dataclass
class DemoRun:
    app: App
    config_dir: Path
    raised: list[RaisedAlert]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """The demo site crawled once into a fresh SQLite file, then analysed once as of ``NOW``."""
    root = tmp_path_factory.mktemp("demo")
    with SiteServer(DEMO_SITE, port=0) as server:
        config_dir = root / "config"
        write_demo_config(config_dir, server.base_url)
        app = App.open(config_dir)
        # Crawl and match as the service would, but analyse "live" as of NOW: a round run today would
        # record these 2025 escalations as history without sending them.
        crawls = [crawl_source(app, source) for source in app.config.sources]
        assert [c.source_id for c in crawls if not c.ok] == []
        process_pending(app.database, app.rules, app.config)
        with app.database.write() as session:
            raised = analyze(session, app.config, now=NOW)
    try:
        yield DemoRun(app, config_dir, raised)
    finally:
        app.close()


def test_every_case_file_reaches_the_rung_its_events_warrant(demo: DemoRun) -> None:
    with demo.app.database.read() as session:
        cases = {c.person: (c.risk_level, c.peak_level) for c in session.query(CaseFile)}
    assert cases == {
        "Behrouz Ehsani": ("imminent", "imminent"),
        "Mehdi Hassani": ("imminent", "imminent"),
        "Saeed Masouri": ("watch", "watch"),
        **dict.fromkeys(AHVAZ, ("sentenced", "sentenced")),
    }


def test_ehsani_and_hassani_climb_from_review_rejected_to_imminent(demo: DemoRun) -> None:
    with demo.app.database.read() as session:
        steps = [(a.subject, a.details["previous_level"], a.details["level"], a.severity,
                  f"{a.first_seen_at:%Y-%m-%d}")
                 for a in session.query(Alert).filter(Alert.kind == "escalation")
                 .filter(Alert.subject.in_(["Behrouz Ehsani", "Mehdi Hassani"])).order_by(Alert.dedup_key)]
        imminent = session.query(Alert).filter(Alert.dedup_key.like("escalation|behrouz ehsani|imminent|%")).one()
        evidence = {e["report"]["event_type"] for e in imminent.details["evidence"]}
    assert steps == [
        ("Behrouz Ehsani", "none", "high", "warning", "2025-07-13"),
        ("Behrouz Ehsani", "high", "imminent", "critical", "2025-07-26"),
        ("Mehdi Hassani", "none", "high", "warning", "2025-07-13"),
        ("Mehdi Hassani", "high", "imminent", "critical", "2025-07-26"),
    ]
    assert evidence == {"review_rejected", "transfer"}
    # The step to imminent is recent (within deliver_within of NOW): it reaches the demo channel.
    assert {a.kind for a in demo.raised if a.severity == "critical" and a.deliveries} == {"escalation"}


def test_duplicates_across_feed_state_media_and_telegram_count_once(demo: DemoRun) -> None:
    with demo.app.database.read() as session:
        timeline = [(e.event_type, f"{e.occurred_at:%m-%d}", sorted(s["source_id"] for s in e.sources))
                    for e in session.query(CaseEvent).filter(CaseEvent.person == "Behrouz Ehsani")
                    .order_by(CaseEvent.occurred_at, CaseEvent.event_type)]
        masouri = [(e.event_type, f"{e.occurred_at:%m-%d}", len(e.sources))
                   for e in session.query(CaseEvent).filter(CaseEvent.person == "Saeed Masouri")
                   .order_by(CaseEvent.occurred_at)]
        ahvaz = {(e.person, e.event_type, len(e.sources)) for e in session.query(CaseEvent)
                 .filter(CaseEvent.person.in_(AHVAZ))}
    assert timeline == [
        ("execution_risk", "07-13", ["demo-rights-feed", "demo-telegram"]),
        ("review_rejected", "07-13", ["demo-rights-feed", "demo-state-fa", "demo-telegram"]),
        # Two posts of one channel on one day: moved to solitary (a transfer ahead of execution), then
        # the families called for a last visit.
        ("transfer", "07-26", ["demo-telegram"]),
        ("execution_risk", "07-26", ["demo-telegram"]),
    ]
    # The attempted transfer (17 July) and the exile to Zahedan (19 July) are two events, each reported
    # by several outlets; watchlist mentions are not case events.
    assert masouri == [("transfer", "07-17", 2), ("transfer", "07-19", 3)]
    assert ahvaz == {(person, "death_sentence", 3) for person in AHVAZ}


def test_nine_executions_reported_by_two_outlets_count_nine(demo: DemoRun) -> None:
    settings = demo.app.config.early_warning
    with demo.app.database.read() as session:
        reports = reports_from_rows(match_rows(session, until=NOW))
    executions = [r for r in reports if r.event_type == "execution"]
    assert sorted((r.source_id, r.count) for r in executions) == [("demo-rights-feed", 9), ("demo-state-fa", 9)]
    _, contributions = cluster(reports, window=settings.dedup.window, max_count=settings.dedup.max_count)
    assert sorted(c.amount for c in contributions if c.report.event_type == "execution") == [0, 9]
    calendar, provinces = Calendar(settings.analysis.timezone), provinces_by_name(settings)
    totals = {}
    for series in settings.series:
        if series.event == "execution":
            spec = SeriesSpec.from_config(series, settings.surge)
            built = build_series(spec, reports, contributions, calendar, provinces)
            totals[series.scope] = {s.name: sum(s.values.values()) for s in built.values()}
    assert totals["country"] == {"Iran": 9.0}
    assert totals["province"] == {"Sistan and Baluchestan": 3.0, "Lorestan": 3.0, "Golestan": 3.0}
    assert sum(totals["prison"].values()) == 9.0 and len(totals["prison"]) == 3


def test_cases_show_prints_the_timeline_with_sources(demo: DemoRun) -> None:
    result = CliRunner().invoke(cli, ["cases", "show", "Behrouz Ehsani", "--config", str(demo.config_dir)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Behrouz Ehsani: imminent (since 2025-07-26")
    for text in ("review rejected", "execution risk", "transfer", "Qezel Hesar Prison", "demo-state-fa [fa]",
                 "demo-rights-feed [en]", "Supreme Court rejects fourth request", "https://t.me/irhrs_demo/"):
        assert text in result.output, text
    assert "watchlist" not in result.output


def test_a_second_analysis_raises_nothing(demo: DemoRun) -> None:
    with demo.app.database.write() as session:
        assert analyze(session, demo.app.config, now=NOW) == []
