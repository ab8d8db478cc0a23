"""People moving up the escalation ladder across outlets and languages; case files; watchlist proposals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.loader import TocsinConfig, load_config
from monitor.trends.analysis import analyze, early_warning_settings
from storage import migrate
from storage.db import Database
from storage.models import Alert, CaseEvent, CaseFile, Delivery, WatchlistProposal
from tests.trends.conftest import CHANNELS, alert_facts
from tests.trends.streams import TEHRAN, Planned, StreamWriter, days_between, local_midnight

DATA = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "trends" / "ladder_stream.yaml")
                      .read_text(encoding="utf-8"))
ENTITY_KEYS = ("persons", "prisons", "prison_from", "prison_to", "charges")


def tehran(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TEHRAN).astimezone(UTC)


def planned() -> list[Planned]:
    out = []
    for report in DATA["reports"]:
        entities: dict[str, Any] = {key: report.get(key, []) for key in ENTITY_KEYS} | {"count": None}
        out.append(Planned(report["source"], tehran(report["at"]), report["event"], entities, report["title"],
                           text=report.get("text", ""), spans=report.get("spans", [])))
    return sorted(out, key=lambda p: p.at)


FIRST_DAY = date(2024, 9, 1)
LAST_DAY = date(2025, 7, 31)


def run_live(database: Database, config: TocsinConfig) -> list[Any]:
    stream, raised = planned(), []
    writer = StreamWriter(database)
    settings = early_warning_settings(config)
    for day in days_between(FIRST_DAY, LAST_DAY):
        now = local_midnight(day) + timedelta(hours=23)  # the service's last run of the day
        due = [p for p in stream if p.at <= now]
        stream = stream[len(due):]
        writer.write(due)
        with database.write() as session:
            raised += analyze(session, config, now=now, settings=settings)
    return raised


@dataclass
class LiveRun:
    database: Database
    config: TocsinConfig
    raised: list[Any]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRun]:
    """The stream followed day by day, once for the module (the tests below only read it)."""
    root = tmp_path_factory.mktemp("ladder")
    database = Database(f"sqlite:///{root / 'tocsin.db'}")
    migrate.upgrade(database)
    config_dir = root / "config"
    config_dir.mkdir()
    settings = {"data_dir": str(root / "data"), "database_url": database.url, "channels": CHANNELS}
    (config_dir / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    config = load_config(config_dir)
    yield LiveRun(database, config, run_live(database, config))
    database.dispose()


def test_each_step_up_alerts_once_at_the_right_report(live: LiveRun) -> None:
    database, raised = live.database, live.raised
    steps = [(f["details"]["person"], f["details"]["level"], f["details"]["previous_level"], f["severity"],
              f["at"]) for f in sorted(alert_facts(database, "escalation"), key=lambda f: (f["at"], f["subject"]))]
    assert steps == [(e["person"], e["level"], e["from"], e["severity"], tehran(e["at"])) for e in DATA["expect"]]
    assert [r.kind for r in raised].count("escalation") == len(DATA["expect"])
    # Routing: the critical step reaches the urgent channel too; the others only the ops channel.
    with database.read() as session:
        sent = {(d.alert.subject, d.alert.details["level"], d.channel) for d in session.query(Delivery)}
    assert ("Behrouz Ehsani", "imminent", "urgent") in sent
    assert {c for s, lv, c in sent if (s, lv) == ("Behrouz Ehsani", "high")} == {"ops"}


def test_the_imminent_alert_carries_the_timeline_across_outlets_and_languages(live: LiveRun) -> None:
    with live.database.read() as session:
        alert = session.query(Alert).filter(Alert.kind == "escalation", Alert.subject == "Behrouz Ehsani",
                                            Alert.severity == "critical").one()
        title, details = alert.title, alert.details
    assert title == "Behrouz Ehsani: imminent risk (was high)"
    timeline = [(e["event_type"], sorted((s["source_id"], s["lang"]) for s in e["sources"]))
                for e in details["timeline"]]
    assert timeline == [
        ("death_sentence", [("hrana_fa", "fa"), ("iranhrm", "en")]),  # one sentence, two outlets
        ("review_rejected", [("hengaw", "en"), ("hrana_fa", "fa"), ("iranhrm", "en")]),
        ("un_statement", [("iranhrm", "en")]),
        ("transfer", [("kurdpa_fa", "fa")]),  # the later English report of it came after the step
    ]
    assert {e["report"]["event_type"] for e in details["evidence"]} == {"review_rejected", "transfer"}
    assert details["trigger"]["source_id"] == "kurdpa_fa"


def test_case_files_and_timelines(live: LiveRun) -> None:
    with live.database.read() as session:
        cases = {c.person: (c.risk_level, c.peak_level, c.event_count) for c in session.query(CaseFile)}
        events = [(e.event_type, len(e.sources)) for e in session.query(CaseEvent)
                  .filter(CaseEvent.person == "Behrouz Ehsani").order_by(CaseEvent.occurred_at)]
    assert cases["Behrouz Ehsani"] == ("imminent", "imminent", 4)
    assert cases["Mehdi Hassani"] == ("high", "high", 3)
    assert cases["Saeed Masouri"][0] == "watch"
    assert cases["Arash Ahmadi"][0] == "none"  # the last arrest was more than 90 days before the end
    assert events == [("death_sentence", 2), ("review_rejected", 3), ("un_statement", 1), ("transfer", 2)]


def test_unknown_names_that_keep_appearing_are_proposed(live: LiveRun) -> None:
    with live.database.read() as session:
        names = sorted(p.name for p in session.query(WatchlistProposal))
    # Not proposed: Kaveh Ranjbar (once), "Behrooz Ehsani" (a watched name's alias), courts and places.
    assert names == sorted(DATA["proposals"])


def test_backfill_equals_live(live: LiveRun, tmp_path: Path) -> None:
    other = Database(f"sqlite:///{tmp_path / 'backfill.db'}")
    migrate.upgrade(other)
    try:
        StreamWriter(other).write(planned())
        with other.write() as session:
            analyze(session, live.config, now=local_midnight(LAST_DAY) + timedelta(hours=23))
        assert alert_facts(other) == alert_facts(live.database)
        with other.read() as session:  # only the step of the last week is news; the rest is history
            sent = {(d.alert.subject, d.alert.details["level"], d.channel) for d in session.query(Delivery)}
        assert sent == {("Behrouz Ehsani", "imminent", "ops"), ("Behrouz Ehsani", "imminent", "urgent")}
    finally:
        other.dispose()


@pytest.mark.parametrize(("cut", "late"), [
    ("2025-07-25T11:00", ("kurdpa_fa", "2025-07-25T10:00")),  # the report that makes the step, crawled late
    ("2025-07-14T12:00", ("iranhrm", "2025-07-13T11:00")),  # an earlier report of a step already alerted
])
def test_a_late_report_neither_is_lost_nor_repeats_a_step(database: Database,
                                                          make_config: Callable[..., TocsinConfig],
                                                          cut: str, late: tuple[str, str]) -> None:
    config = make_config()
    stream = planned()
    is_late = [p.source_id == late[0] and p.at == tehran(late[1]) for p in stream]
    assert sum(is_late) == 1
    writer = StreamWriter(database)
    writer.write(p for p, held in zip(stream, is_late, strict=True) if p.at <= tehran(cut) and not held)
    with database.write() as session:
        analyze(session, config, now=tehran(cut))
    writer.write(p for p, held in zip(stream, is_late, strict=True) if p.at > tehran(cut) or held)
    for now in (tehran(cut) + timedelta(hours=14), local_midnight(LAST_DAY)):
        with database.write() as session:
            analyze(session, config, now=now)
    keys = sorted((f["details"]["person"], f["details"]["level"]) for f in alert_facts(database, "escalation"))
    assert keys == sorted((e["person"], e["level"]) for e in DATA["expect"])
