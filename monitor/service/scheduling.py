"""What the service runs and when: one job per enabled source, the dispatcher, digests, housekeeping.

Jobs are declared in code with fixed ids (``crawl:<source>``, ``dispatch``, ``digest:<channel>``,
``housekeeping``, ``heartbeat``, ``reload``) in APScheduler's MemoryJobStore: nothing is pickled, so no
upgrade can make a stored job unloadable (PITFALLS.md section 3). Next-run state survives restarts through
the database instead: a source's first run is its last crawl's start plus its interval, and a source that
missed several runs while the service was down runs once, at start. All times are UTC.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.errors import ConfigError
from config.loader import TocsinConfig
from config.schema import ScheduleDefaults
from config.sources import SourceBase
from monitor.alerts.operator import raise_operator_alert, resolve_operator_alert
from storage import crawl_repo
from storage.crawl_repo import mark_health_alerted, unhealthy_sources
from storage.db import Database
from storage.models import Source, utcnow

log = logging.getLogger(__name__)
UTC_NAME = "UTC"
CRAWL_PREFIX = "crawl:"
DIGEST_PREFIX = "digest:"
MIN_GRACE_SECONDS = 30
START_STAGGER = timedelta(seconds=10)  # never-crawled sources start spread over this window


def build_scheduler(max_concurrent_crawls: int) -> BackgroundScheduler:
    """UTC, jobs kept in memory, crawls on their own pool; defaults through ``job_defaults`` (APScheduler
    silently ignores them as scheduler keyword arguments): coalesce missed runs, one instance per job."""
    return BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={
            "default": ThreadPoolExecutor(4),
            "crawls": ThreadPoolExecutor(max_concurrent_crawls),
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MIN_GRACE_SECONDS,
        },
        timezone="UTC",
    )


@dataclass
class JobSpec:
    """One job as the scheduler should have it. ``signature`` says when a reload must replace it."""

    id: str
    func: Callable[..., Any]
    trigger: BaseTrigger
    signature: str
    args: tuple[Any, ...] = ()
    executor: str = "default"
    misfire_grace_time: int = MIN_GRACE_SECONDS
    next_run_time: datetime | None = None
    name: str | None = None


def crawl_job_id(source_id: str) -> str:
    return CRAWL_PREFIX + source_id


def source_interval(source: SourceBase, defaults: ScheduleDefaults) -> timedelta:
    return source.schedule.interval or defaults.interval


def source_trigger(
    source: SourceBase, defaults: ScheduleDefaults, *, start: datetime
) -> BaseTrigger:
    """Interval (start to start) or crontab in UTC, each with up to ``jitter`` of random delay."""
    jitter = source.schedule.jitter if source.schedule.jitter is not None else defaults.jitter
    jitter_seconds = int(jitter.total_seconds()) or None
    if source.schedule.cron:
        try:
            return CronTrigger(
                **crontab_fields(source.schedule.cron), timezone=UTC_NAME, jitter=jitter_seconds
            )
        except ValueError as exc:
            raise ConfigError(
                f"invalid cron expression {source.schedule.cron!r}: {exc}",
                keypath=("sources", source.id, "schedule", "cron"),
            ) from None
    return IntervalTrigger(
        seconds=source_interval(source, defaults).total_seconds(),
        start_date=start,
        timezone=UTC_NAME,
        jitter=jitter_seconds,
    )


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_fields(expression: str) -> dict[str, str]:
    """Crontab's five fields as CronTrigger arguments; weekday numbers mean crontab's (0 or 7 = Sunday),
    not APScheduler's (0 = Monday), so they are turned into names."""
    values = expression.split()
    if len(values) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(values)}")
    weekday = re.sub(r"\d+", lambda m: _WEEKDAYS[int(m[0])] if int(m[0]) < 8 else m[0], values[4])
    return dict(
        zip(("minute", "hour", "day", "month", "day_of_week"), [*values[:4], weekday], strict=True)
    )


def grace_seconds(source: SourceBase, defaults: ScheduleDefaults) -> int:
    """A run that starts late by up to about one interval still runs (APScheduler's default is 1 s)."""
    if source.schedule.cron:
        return 3600
    return max(MIN_GRACE_SECONDS, int(source_interval(source, defaults).total_seconds()))


def last_crawl_starts(database: Database) -> dict[str, datetime]:
    """When each source's last crawl started, from the crawl runs the runner records (or, once
    housekeeping deleted old runs, when it last finished)."""
    with database.read() as session:
        return crawl_repo.last_crawl_starts(session)


def first_run_time(
    source: SourceBase, defaults: ScheduleDefaults, *, last_start: datetime | None, now: datetime
) -> datetime:
    """Due now if it has never run or is overdue (however many runs were missed: one run, coalesced)."""
    if last_start is None:
        return now + min(START_STAGGER, source_interval(source, defaults)) * random.random()
    if source.schedule.cron:
        trigger = source_trigger(source, defaults, start=now)
        following = trigger.get_next_fire_time(None, last_start)
        return now if following is None or following <= now else following
    return max(now, last_start + source_interval(source, defaults))


def crawl_specs(
    config: TocsinConfig,
    last_starts: dict[str, datetime],
    run: Callable[[str], None],
    *,
    now: datetime | None = None,
) -> list[JobSpec]:
    now = now or utcnow()
    defaults = config.settings.schedule
    specs = []
    for source in config.sources:
        if not source.enabled:
            continue
        first = first_run_time(source, defaults, last_start=last_starts.get(source.id), now=now)
        specs.append(
            JobSpec(
                id=crawl_job_id(source.id),
                name=f"crawl {source.id}",
                func=run,
                args=(source.id,),
                executor="crawls",
                trigger=source_trigger(source, defaults, start=first),
                next_run_time=first,
                misfire_grace_time=grace_seconds(source, defaults),
                signature=source.schedule.model_dump_json() + defaults.model_dump_json(),
            )
        )
    return specs


@dataclass
class ServiceJobs:
    """The bodies of the fixed jobs (the service supplies them)."""

    dispatch: Callable[[], None]
    digest: Callable[[str], None]
    housekeeping: Callable[[], None]
    heartbeat: Callable[[], None]
    reload: Callable[[], None]
    recheck: Callable[[], None]


def fixed_specs(
    config: TocsinConfig, jobs: ServiceJobs, *, now: datetime | None = None
) -> list[JobSpec]:
    now = now or utcnow()
    service, schedule = config.settings.service, config.settings.schedule
    dispatch_every = schedule.dispatch_interval.total_seconds()
    at = service.housekeeping_at
    specs = [
        JobSpec(
            id="dispatch",
            func=jobs.dispatch,
            trigger=IntervalTrigger(seconds=dispatch_every, timezone=UTC_NAME),
            next_run_time=now,
            signature=str(dispatch_every),
            misfire_grace_time=max(MIN_GRACE_SECONDS, int(dispatch_every)),
        ),
        JobSpec(
            id="housekeeping",
            func=jobs.housekeeping,
            trigger=CronTrigger(hour=at.hour, minute=at.minute, timezone=UTC_NAME, jitter=300),
            signature=at.isoformat(),
            misfire_grace_time=6 * 3600,
        ),
        JobSpec(
            id="heartbeat",
            func=jobs.heartbeat,
            next_run_time=now,
            trigger=IntervalTrigger(
                seconds=service.heartbeat_interval.total_seconds(), timezone=UTC_NAME
            ),
            signature=str(service.heartbeat_interval),
        ),
        JobSpec(
            id="reload",
            func=jobs.reload,
            trigger=IntervalTrigger(seconds=service.reload_poll.total_seconds(), timezone=UTC_NAME),
            signature=str(service.reload_poll),
        ),
    ]
    recheck_every = service.recheck_interval.total_seconds()
    specs.append(
        JobSpec(
            id="recheck",
            func=jobs.recheck,
            executor="crawls",
            signature=str(recheck_every),
            trigger=IntervalTrigger(
                seconds=recheck_every, timezone=UTC_NAME, jitter=int(recheck_every // 10)
            ),
            misfire_grace_time=max(MIN_GRACE_SECONDS, int(recheck_every)),
        )
    )
    for name, channel in config.enabled_channels().items():
        if channel.digest is None:
            continue
        tz = channel.timezone
        specs.append(
            JobSpec(
                id=DIGEST_PREFIX + name,
                name=f"digest {name}",
                func=jobs.digest,
                args=(name,),
                trigger=CronTrigger(
                    hour=channel.digest.hour, minute=channel.digest.minute, timezone=tz
                ),
                signature=f"{channel.digest.isoformat()} {tz}",
                misfire_grace_time=6 * 3600,
            )
        )
    return specs


def sync_jobs(
    scheduler: BaseScheduler,
    specs: Sequence[JobSpec],
    *,
    managed: Callable[[str], bool],
    signatures: dict[str, str],
) -> list[str]:
    """Make the scheduler hold exactly ``specs`` among the ``managed`` ids; returns what changed.

    An unchanged job keeps its next run (a reload never makes every source crawl at once); a changed
    one is replaced under the same id, so ``max_instances`` still counts a run that is in flight.
    """
    changes = []
    wanted = {spec.id: spec for spec in specs}
    for job in scheduler.get_jobs():
        if managed(job.id) and job.id not in wanted:
            scheduler.remove_job(job.id)
            signatures.pop(job.id, None)
            changes.append(f"-{job.id}")
    for spec in specs:
        existing = scheduler.get_job(spec.id)
        if existing is not None and signatures.get(spec.id) == spec.signature:
            continue
        options: dict[str, Any] = {}
        if spec.next_run_time is not None:
            options["next_run_time"] = spec.next_run_time
        scheduler.add_job(
            spec.func,
            spec.trigger,
            args=spec.args,
            id=spec.id,
            name=spec.name or spec.id,
            executor=spec.executor,
            misfire_grace_time=spec.misfire_grace_time,
            replace_existing=True,
            **options,
        )
        signatures[spec.id] = spec.signature
        changes.append(f"{'~' if existing else '+'}{spec.id}")
    return changes


def next_runs(scheduler: BaseScheduler) -> dict[str, datetime | None]:
    return {job.id: job.next_run_time for job in scheduler.get_jobs()}


# --- what jobs tell the operator (through monitor.alerts' operator alerts) ------------------------------

CONFIG_ALERT_KEY = "config:reload"


def check_source_health(database: Database, config: TocsinConfig, source_id: str) -> bool:
    """After a crawl: raise one operator alert when a source turns unhealthy, resolve it when it recovers.

    Returns True when an alert was queued (the dispatcher should wake).
    """
    key = f"source:{source_id}:unhealthy"
    with database.write() as session:
        found = unhealthy_sources(
            session, config.settings.crawl.unhealthy_after, source_ids=[source_id]
        )
        if found:
            health = found[0]
            if health.health_alerted_at is not None:
                return False
            raise_operator_alert(
                session,
                config,
                key=key,
                title=f"Source {health.name} is {health.problem}",
                summary=f"{health.description}. URL: {health.url}",
            )
            mark_health_alerted(session, source_id)
            log.warning(
                "source %s is %s: operator alerted",
                source_id,
                health.problem,
                extra={"source": source_id, "problem": health.problem},
            )
            return True
        source = session.get(Source, source_id)
        if source is not None and source.health_alerted_at is not None:
            source.health_alerted_at = None
            resolve_operator_alert(session, key=key)
            log.info("source %s recovered", source_id, extra={"source": source_id})
    return False


def report_config_error(database: Database, config: TocsinConfig, message: str) -> bool:
    """A reload failed: one open operator alert (refreshed, not resent, while the error lasts)."""
    with database.write() as session:
        decision = raise_operator_alert(
            session,
            config,
            key=CONFIG_ALERT_KEY,
            title="Configuration error: the previous configuration stays active",
            summary=message,
        )
    return decision.created


def resolve_config_error(database: Database) -> None:
    with database.write() as session:
        resolve_operator_alert(session, key=CONFIG_ALERT_KEY)
