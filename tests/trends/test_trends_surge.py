"""Surges in executions at seed scale (~1,400 a year): found once, at the right day, with the right figures.

The stream is generated (tests/trends/streams.py): a quiet baseline of batches reported by one to three
outlets in English and Persian, yearly statistics as noise, then a surge. The expected alerts are computed
here from the *ground truth* (the real events, not the reports), with SciPy's negative binomial: so the test
checks the dedup across outlets, the binning per scope and the detector together.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from config.early_warning import EarlyWarningConfig
from config.loader import TocsinConfig
from monitor.trends.analysis import analyze, early_warning_settings, series_specs
from monitor.trends.calendar import Calendar
from monitor.trends.events import fold_location
from storage.db import Database
from storage.models import Alert, Delivery
from tests.trends.conftest import alert_facts
from tests.trends.streams import PRISONS, Stream, StreamWriter, days_between, execution_stream, local_midnight

START = date(2024, 7, 1)
QUIET_DAYS, SURGE_DAYS = 200, 14
SURGE_START = START + timedelta(days=QUIET_DAYS)
END = SURGE_START + timedelta(days=SURGE_DAYS + 6)


@pytest.fixture(scope="module")
def stream() -> Stream:
    return execution_stream(start=START, quiet_days=QUIET_DAYS, surge_days=SURGE_DAYS, quiet_rate=3.8,
                            surge_rate=6.0)


def reference_surges(stream: Stream, settings: EarlyWarningConfig, *, last_day: date) -> list[dict[str, Any]]:
    """The surge alerts the documented method gives on the true events (docs/early-warning.md)."""
    nbinom = pytest.importorskip("scipy.stats").nbinom
    poisson = pytest.importorskip("scipy.stats").poisson
    calendar = Calendar(settings.analysis.timezone)
    first_day = min(calendar.day(p.at) for p in stream.planned).toordinal()
    out = []
    for spec in series_specs(settings):
        if spec.event_types != {"execution"}:
            continue
        th = spec.thresholds
        amounts: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        events: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
        for number, event in enumerate(stream.truth):
            day = calendar.day(event.first_reported).toordinal()
            if spec.scope == "country":
                targets = {"iran"}
            elif spec.scope == "prison":
                targets = {fold_location(p) for p in event.prisons}
            else:
                targets = {fold_location(PRISONS[p]) for p in event.prisons}
            for target in targets:
                amounts[target][day] += event.size / len(targets)
                events[target][day].add(number)
        total: dict[int, float] = defaultdict(float)
        for series in amounts.values():
            for day, value in series.items():
                total[day] += value
        w, b, shortest = spec.window_bins, spec.baseline_bins, spec.min_history_bins

        def moments(series: dict[int, float], end: int, w: int = w, b: int = b,
                    shortest: int = shortest) -> tuple[float, float, int] | None:
            base = [series.get(d, 0.0) for d in range(max(first_day, end - w - b + 1), end - w + 1)]
            if len(base) < shortest:
                return None
            mean = sum(base) / len(base)
            var = sum((v - mean) ** 2 for v in base) / (len(base) - 1)
            return (sum(base) + 0.5) / len(base), var, len(base)

        for scope in sorted(amounts):
            fired: list[int] = []
            for end in range(first_day, last_day.toordinal() + 1):
                found = moments(amounts[scope], end)
                if found is None:
                    continue
                mean, var, _ = found
                if spec.scope != "country":
                    pooled = moments(total, end)
                    assert pooled is not None
                    var = max(var, max(1.0, pooled[1] / pooled[0]) * mean)
                mu, sigma2 = w * mean, w * max(var, mean)
                x = sum(amounts[scope].get(d, 0.0) for d in range(end - w + 1, end + 1))
                n_events = len(set().union(*(events[scope].get(d, set()) for d in range(end - w + 1, end + 1))))
                k = math.ceil(x - 1e-9)
                if sigma2 > mu:
                    r = mu * mu / (sigma2 - mu)
                    p = float(nbinom.sf(k - 1, r, r / (r + mu)))
                else:
                    p = float(poisson.sf(k - 1, mu))
                if not (x >= th.min_count and x >= th.min_ratio * mu and n_events >= th.min_events
                        and p <= th.alpha):
                    continue
                if any(abs(end - earlier) < th.cooldown.days for earlier in fired):
                    continue
                fired.append(end)
                out.append({"series": spec.id, "scope": scope, "day": date.fromordinal(end).isoformat(),
                            "observed": x, "expected": mu, "p": p, "events": n_events})
    return sorted(out, key=lambda a: (a["series"], a["scope"], a["day"]))


def stored_surges(database: Database) -> list[dict[str, Any]]:
    out = []
    for fact in alert_facts(database, "surge"):
        d = fact["details"]
        out.append({"series": d["series"], "scope": d["scope_key"], "day": d["window_to"],
                    "observed": d["observed"], "expected": d["expected"], "p": d["p_value"], "events": d["events"]})
    return sorted(out, key=lambda a: (a["series"], a["scope"], a["day"]))


def run_backfill(database: Database, config: TocsinConfig, stream: Stream, writer: StreamWriter, *,
                 now: datetime) -> list[Any]:
    writer.write(stream.sorted())
    with database.write() as session:
        return analyze(session, config, now=now)


def run_live(database: Database, config: TocsinConfig, stream: Stream, writer: StreamWriter, *,
             last_day: date, hour: int = 1) -> list[Any]:
    """Each day: store what was published by then, then analyze, as the service would after its crawls."""
    planned = stream.sorted()
    settings = early_warning_settings(config)  # loaded once, as the service does
    raised = []
    for day in days_between(START, last_day):
        now = local_midnight(day) + timedelta(hours=hour)
        due = [p for p in planned if p.at <= now]
        planned = planned[len(due):]
        writer.write(due)
        with database.write() as session:
            raised += analyze(session, config, now=now, settings=settings)
    return raised


def test_the_surge_is_found_once_at_the_right_day_with_the_right_figures(
        database: Database, make_config: Callable[..., TocsinConfig], stream: Stream, writer: StreamWriter) -> None:
    config = make_config()
    settings = early_warning_settings(config)
    raised = run_backfill(database, config, stream, writer, now=local_midnight(END + timedelta(days=1)))
    expected = reference_surges(stream, settings, last_day=END)
    stored = stored_surges(database)
    assert [(a["series"], a["scope"], a["day"], a["events"]) for a in stored] == [
        (a["series"], a["scope"], a["day"], a["events"]) for a in expected]
    for got, want in zip(stored, expected, strict=True):
        assert got["observed"] == pytest.approx(want["observed"], abs=1e-3)
        assert got["expected"] == pytest.approx(want["expected"], abs=1e-3)
        assert got["p"] == pytest.approx(want["p"], rel=1e-6)
    # The country-wide surge: one alert, within days of the surge's start, nothing in the quiet months.
    country = [a for a in stored if a["series"] == "executions"]
    assert len(country) == 1
    assert SURGE_START <= date.fromisoformat(country[0]["day"]) <= SURGE_START + timedelta(days=6)
    assert all(date.fromisoformat(a["day"]) >= SURGE_START for a in stored), "an alert in the quiet baseline"
    assert len(raised) == len(stored)
    # The contributing items are in the alert; the yearly statistics never are.
    with database.read() as session:
        alert = session.query(Alert).filter(Alert.dedup_key.like("surge|executions|iran|%")).one()
        details, title = alert.details, alert.title
    contributing = details["contributing"]
    assert contributing and all(c["count"] is None or c["count"] <= 60 for c in contributing)
    assert sum(c["added"] for c in contributing) == pytest.approx(details["observed"], abs=0.01)
    assert details["items"] > details["events"]  # several outlets, counted once
    assert f"{country[0]['observed']:g} in 7 days" in title and "expected" in title


def test_running_again_raises_nothing_new(database: Database, make_config: Callable[..., TocsinConfig],
                                          stream: Stream, writer: StreamWriter) -> None:
    config = make_config()
    now = local_midnight(END + timedelta(days=1))
    first = run_backfill(database, config, stream, writer, now=now)
    with database.write() as session:
        assert analyze(session, config, now=now) == []
        assert analyze(session, config, now=now + timedelta(days=2)) == []
    assert first


def test_backfill_equals_live(database: Database, make_config: Callable[..., TocsinConfig], stream: Stream,
                              writer: StreamWriter, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Day by day as the stream arrives, or once over the stored history: the same alerts."""
    from storage import migrate

    config = make_config()
    live_raised = run_live(database, config, stream, writer, last_day=END + timedelta(days=1))
    live = alert_facts(database)

    other = Database(f"sqlite:///{tmp_path_factory.mktemp('backfill') / 'tocsin.db'}")
    migrate.upgrade(other)
    try:
        run_backfill(other, config, stream, StreamWriter(other), now=local_midnight(END + timedelta(days=2))
                     + timedelta(hours=1))
        backfill = alert_facts(other)
        with other.read() as session:
            assert session.query(Delivery).count() == 0  # history is recorded, not sent
    finally:
        other.dispose()
    assert [f["key"] for f in live] == [f["key"] for f in backfill]
    assert live == backfill
    assert any(f["kind"] == "surge" for f in live)
    # Live alerts went out to the channels that want them: warnings to "ops" only.
    with database.read() as session:
        channels = {(d.alert.dedup_key, d.channel) for d in session.query(Delivery)}
    assert {key for key, _ in channels} == {r.dedup_key for r in live_raised}
    for raised in live_raised:
        wanted = {"ops", "urgent"} if raised.severity == "critical" else {"ops"}
        assert {c for k, c in channels if k == raised.dedup_key} == wanted


def test_a_quiet_year_at_seed_scale_raises_nothing(database: Database, make_config: Callable[..., TocsinConfig],
                                                  writer: StreamWriter) -> None:
    quiet = execution_stream(start=START, quiet_days=365, surge_days=0, quiet_rate=3.8, surge_rate=3.8, seed=11)
    assert 1200 <= sum(e.size for e in quiet.truth) <= 1600  # the seed's scale: ~1,400 executions a year
    raised = run_backfill(database, make_config(), quiet, writer, now=local_midnight(START + timedelta(days=366)))
    assert raised == []


def test_duplicates_across_outlets_do_not_make_a_surge(database: Database, make_config: Callable[..., TocsinConfig],
                                                      stream: Stream, writer: StreamWriter) -> None:
    """Every quiet-period report republished by four more outlets: more articles, the same executions."""
    from tests.trends.streams import RIGHTS_OUTLETS, Planned

    quiet_end = local_midnight(SURGE_START)
    noisy = Stream(truth=stream.truth)
    for plan in stream.sorted():
        if plan.at >= quiet_end:
            continue
        noisy.planned.append(plan)
        if plan.at >= quiet_end - timedelta(days=10):  # a burst of coverage in the last ten quiet days
            for outlet in RIGHTS_OUTLETS:
                if outlet != plan.source_id:
                    noisy.planned.append(Planned(outlet, plan.at + timedelta(hours=2), plan.event_type,
                                                 dict(plan.entities), plan.title))
    raised = run_backfill(database, make_config(), noisy, writer, now=quiet_end)
    assert raised == []


def test_mass_executions_in_one_prison_are_a_surge_there_and_in_its_province(
        database: Database, make_config: Callable[..., TocsinConfig], writer: StreamWriter) -> None:
    """Three mass executions in Qezel Hesar in five days, reported in English and Persian."""
    from tests.trends.streams import Planned, TrueEvent

    quiet = execution_stream(start=START, quiet_days=120, surge_days=0, quiet_rate=3.8, surge_rate=3.8, seed=5)
    for offset, size in ((110, 17), (112, 18), (114, 19)):
        at = local_midnight(START + timedelta(days=offset)) + timedelta(hours=9)
        quiet.truth.append(TrueEvent("execution", size, ("Qezel Hesar",), at))
        quiet.planned += [
            Planned("iranhrm", at, "execution", {"count": size, "prisons": ["Qezel Hesar Prison"]},
                    f"{size} prisoners hanged in Qezel Hesar"),
            Planned("hrana_fa", at + timedelta(hours=3), "execution", {"count": size, "prisons": ["قزل‌حصار",
                    "Qezel Hesar"]}, f"اعدام {size} زندانی در زندان قزل‌حصار"),
        ]
    config = make_config()
    run_backfill(database, config, quiet, writer, now=local_midnight(START + timedelta(days=120)))
    stored = stored_surges(database)
    expected = reference_surges(quiet, early_warning_settings(config), last_day=START + timedelta(days=119))
    assert [(a["series"], a["scope"], a["day"]) for a in stored] == [
        (a["series"], a["scope"], a["day"]) for a in expected]
    by_series = {a["series"]: a for a in stored}
    second_batch = (START + timedelta(days=112)).isoformat()  # one mass execution is an incident, two a surge
    assert by_series["executions-by-prison"]["scope"] == "qezel hesar"
    assert by_series["executions-by-prison"]["day"] == second_batch
    assert by_series["executions-by-province"]["scope"] == "alborz"
    assert by_series["executions-by-prison"]["observed"] >= 35
