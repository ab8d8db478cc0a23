"""What ``tocsin status`` shows, gathered: is an instance active, each source's health and next run, the
alert queue and the latest alerts. Plain data (the CLI prints it, or prints it as JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.service import instance_lock, scheduling
from monitor.service.app import App
from monitor.service.health import read_state
from storage import alerts_repo, crawl_repo
from storage.db import Database
from storage.models import utcnow

STALE_HEARTBEATS = 3


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def service_summary(database: Database, config: TocsinConfig) -> dict[str, Any]:
    """Is an instance active (does it hold the lock), and what did it last publish."""
    lock = instance_lock.lock_for(config.database_url)
    free = lock.try_acquire()
    lock.release()
    state = read_state(database)
    instance = state["instance"].value if "instance" in state else {}
    heartbeat = state["instance"].updated_at if "instance" in state else None
    stale = (
        heartbeat is None
        or utcnow() - heartbeat > STALE_HEARTBEATS * config.settings.service.heartbeat_interval
    )
    return {
        "running": not free,
        "pid": instance.get("pid"),
        "host": instance.get("host"),
        "started_at": instance.get("started_at"),
        "heartbeat_at": _iso(heartbeat),
        "heartbeat_stale": bool(stale and not free),
        "health": instance.get("health") if not free else None,
        "config_error": instance.get("config_error") if not free else None,
        "crawls_running": instance.get("crawls_running", []) if not free else [],
        "next_runs": state["schedule"].value if "schedule" in state and not free else {},
    }


def _next_run(
    source_id: str, service: dict[str, Any], config: TocsinConfig, last_starts: dict[str, datetime]
) -> str | None:
    scheduled = service["next_runs"].get(scheduling.crawl_job_id(source_id))
    if scheduled or service["running"]:
        return str(scheduled) if scheduled else None
    source = config.source(source_id)
    if not source.enabled:
        return None
    last = last_starts.get(source_id)
    if last is None or source.schedule.cron:
        return None
    return _iso(last + scheduling.source_interval(source, config.settings.schedule))


def source_rows(
    session: Session, database: Database, config: TocsinConfig, service: dict[str, Any]
) -> list[dict[str, Any]]:
    states = crawl_repo.source_rows(session)
    health = crawl_repo.source_health(session, config.settings.crawl.unhealthy_after)
    counts = crawl_repo.item_counts(session)
    last_starts = scheduling.last_crawl_starts(database)
    rows = []
    for source in config.sources:
        state = states.get(source.id)
        judged = health.get(source.id)
        condition = ("disabled" if not source.enabled else
                     "never run" if judged is None or judged.last_run_at is None else judged.state)
        rows.append(
            {
                "id": source.id,
                "enabled": source.enabled,
                "state": condition,
                "problem": judged.description if judged is not None and judged.state != "ok" else None,
                "last_run": _iso(state.last_run_at) if state else None,
                "last_success": _iso(state.last_success_at) if state else None,
                "last_error_at": _iso(state.last_error_at) if state else None,
                "last_error": state.last_error if state and state.consecutive_failures else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
                "items": int(counts.get(source.id, 0)),
                "items_last_run": state.last_item_count if state else 0,
                "next_run": _next_run(source.id, service, config, last_starts),
            }
        )
    return rows


def outbox_summary(session: Session) -> dict[str, Any]:
    by_status = alerts_repo.deliveries_by_status(session)
    oldest = alerts_repo.oldest_waiting_delivery(session)
    return {"by_status": {k: int(v) for k, v in by_status.items()}, "oldest_waiting": _iso(oldest)}


def recent_alerts(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    alerts = alerts_repo.recent_alerts(session, limit)
    return [
        {
            "id": alert.id,
            "severity": alert.severity,
            "event": alert.event_type,
            "title": alert.title,
            "state": alert.state,
            "first_seen": _iso(alert.first_seen_at),
            "deliveries": {d.channel: d.status for d in alert.deliveries},
        }
        for alert in alerts
    ]


def status_report(app: App, session: Session) -> dict[str, Any]:
    """Everything ``tocsin status`` shows, read in ``session``."""
    service = service_summary(app.database, app.config)
    return {
        "service": service,
        "sources": source_rows(session, app.database, app.config, service),
        "outbox": outbox_summary(session),
        "recent_alerts": recent_alerts(session),
    }
