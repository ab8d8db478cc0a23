"""When sources run: first runs from the database after a restart, coalesced missed runs, one instance per
source, crontab weekdays, and reloads that change only the jobs that changed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.triggers.interval import IntervalTrigger

from config.errors import ConfigError
from config.schema import ScheduleDefaults
from config.sources import FeedSource
from monitor.service import scheduling
from monitor.service.scheduling import build_scheduler
from tests.service.support import wait_until

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
DEFAULTS = ScheduleDefaults(interval=timedelta(minutes=30), jitter=timedelta(0))


def feed(source_id: str = "hrana", **schedule: Any) -> FeedSource:
    return FeedSource(id=source_id, kind="feed", url="https://example.org/feed", schedule=schedule)


def test_a_source_never_crawled_starts_soon_after_start() -> None:
    first = scheduling.first_run_time(feed(), DEFAULTS, last_start=None, now=NOW)
    assert NOW <= first <= NOW + scheduling.START_STAGGER


def test_a_source_crawled_recently_waits_for_its_interval_after_a_restart() -> None:
    last = NOW - timedelta(minutes=10)
    assert scheduling.first_run_time(
        feed(), DEFAULTS, last_start=last, now=NOW
    ) == last + timedelta(minutes=30)


def test_runs_missed_during_a_long_downtime_become_one_run_at_start() -> None:
    last = NOW - timedelta(days=2)  # 96 runs missed
    assert scheduling.first_run_time(feed(), DEFAULTS, last_start=last, now=NOW) == NOW


def test_cron_sources_resume_from_their_last_run() -> None:
    source = feed(cron="0 6 * * *")
    missed = scheduling.first_run_time(
        source, DEFAULTS, last_start=NOW - timedelta(days=1, hours=7), now=NOW
    )
    assert missed == NOW
    upcoming = scheduling.first_run_time(
        source, DEFAULTS, last_start=NOW - timedelta(hours=5), now=NOW
    )
    assert upcoming == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        ("1-5", "mon-fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("6,0", "sat,sun"),
        ("*", "*"),
        ("mon", "mon"),
    ],
    ids=["weekdays", "sunday-0", "sunday-7", "weekend", "any", "names"],
)
def test_crontab_weekday_numbers_mean_what_crontab_means(weekday: str, expected: str) -> None:
    assert scheduling.crontab_fields(f"0 6 * * {weekday}")["day_of_week"] == expected


def test_a_weekday_cron_source_fires_on_weekdays_in_utc() -> None:
    trigger = scheduling.source_trigger(feed(cron="30 6 * * 1-5"), DEFAULTS, start=NOW)
    saturday = datetime(2026, 3, 7, 0, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, saturday) == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_an_invalid_cron_expression_is_a_config_error_naming_the_source() -> None:
    with pytest.raises(ConfigError, match="invalid cron expression") as error:
        scheduling.source_trigger(feed(cron="61 * * *"), DEFAULTS, start=NOW)
    assert "hrana" in str(error.value)


def test_crawl_jobs_allow_a_run_to_start_up_to_an_interval_late() -> None:
    quick = feed("quick", interval="2m")
    disabled = FeedSource(id="off", kind="feed", url="https://example.org/x", enabled=False)
    config = _config([quick, disabled])
    [spec] = scheduling.crawl_specs(config, {}, lambda source_id: None, now=NOW)
    assert spec.id == "crawl:quick" and spec.executor == "crawls"
    assert spec.misfire_grace_time == 120


class _Config:
    def __init__(self, sources: list[FeedSource]) -> None:
        from config.schema import Settings

        self.sources = sources
        self.settings = Settings(schedule=DEFAULTS)

    def enabled_channels(self) -> dict[str, Any]:
        return {}


def _config(sources: list[FeedSource]) -> Any:
    return _Config(sources)


def _noop(*_args: Any) -> None:
    return None


def test_a_reload_replaces_only_the_jobs_whose_schedule_changed() -> None:
    scheduler = build_scheduler(2)
    scheduler.start(paused=True)
    signatures: dict[str, str] = {}
    try:
        sources = [feed("a"), feed("b")]
        specs = scheduling.crawl_specs(_config(sources), {}, _noop, now=NOW)
        assert sorted(
            scheduling.sync_jobs(scheduler, specs, managed=lambda _: True, signatures=signatures)
        ) == ["+crawl:a", "+crawl:b"]
        kept = scheduler.get_job("crawl:a").next_run_time

        again = scheduling.crawl_specs(_config(sources), {}, _noop, now=NOW + timedelta(hours=1))
        assert (
            scheduling.sync_jobs(scheduler, again, managed=lambda _: True, signatures=signatures)
            == []
        )
        assert (
            scheduler.get_job("crawl:a").next_run_time == kept
        )  # a reload does not reset the schedule

        changed = scheduling.crawl_specs(_config([feed("a", interval="5m")]), {}, _noop, now=NOW)
        assert scheduling.sync_jobs(
            scheduler, changed, managed=lambda _: True, signatures=signatures
        ) == ["-crawl:b", "~crawl:a"]
        assert scheduler.get_job("crawl:b") is None
    finally:
        scheduler.shutdown(wait=False)


def test_a_source_never_runs_twice_at_once_and_an_overrun_is_reported() -> None:
    scheduler = build_scheduler(1)
    running, most, overruns = [0], [0], []
    release = threading.Event()
    lock = threading.Lock()

    def slow_crawl() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(20)
        with lock:
            running[0] -= 1

    def on_overrun(event: JobEvent) -> None:
        overruns.append(event.job_id)

    scheduler.add_listener(on_overrun, EVENT_JOB_MAX_INSTANCES)
    scheduler.add_job(
        slow_crawl, IntervalTrigger(seconds=0.1), id="crawl:slow"
    )  # default pool has 4 threads
    scheduler.start()
    try:
        wait_until(
            lambda: len(overruns) >= 3, what="runs skipped while the first one is still going"
        )
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    assert most[0] == 1
    assert set(overruns) == {"crawl:slow"}


def test_after_downtime_exactly_one_coalesced_run_happens() -> None:
    scheduler = build_scheduler(1)
    runs: list[datetime] = []
    now = datetime.now(UTC)
    last_start = now - timedelta(minutes=30)  # 30 one-minute runs were missed
    source = feed("late", interval="1m")
    first = scheduling.first_run_time(source, DEFAULTS, last_start=last_start, now=now)
    scheduler.add_job(
        lambda: runs.append(datetime.now(UTC)),
        scheduling.source_trigger(source, DEFAULTS, start=first),
        id="crawl:late",
        next_run_time=first,
        misfire_grace_time=scheduling.grace_seconds(source, DEFAULTS),
    )
    scheduler.start()
    try:
        wait_until(lambda: runs, what="the coalesced run")
        job = scheduler.get_job("crawl:late")
        assert job.next_run_time >= runs[0] + timedelta(
            seconds=59
        )  # the next one is a whole interval away
    finally:
        scheduler.shutdown(wait=False)
    assert len(runs) == 1
