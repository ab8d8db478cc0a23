"""``tocsin run``'s service: the scheduler and the threads around it, wired together (``run.py`` starts it as a
process). The work itself lives elsewhere.

Threads, and why each exists:

- APScheduler's ``BackgroundScheduler`` (UTC, MemoryJobStore, jobs from :mod:`monitor.service.scheduling`) fires
  crawls on a pool of ``max_concurrent_crawls`` threads and the service jobs on a small pool of their own,
  so a slow crawl never delays the dispatcher. ``job_defaults`` (not scheduler kwargs, which APScheduler
  ignores) set ``coalesce=True`` and ``max_instances=1``: a source never runs twice at once. Each crawl is a
  child process with a hard timeout (:mod:`crawler.runner`), so a hung crawl is killed, never blocking.
- The matcher (``workers.py``): each item a crawl stores is announced at once (``on_item``) and matched in a
  thread of its own, so its alert is queued within a second instead of at the end of the crawl.
- The dispatcher (``workers.py``): woken by the matcher (and every ``dispatch_interval``) to send the outbox.
- The main thread: signals, the instance lock and systemd's watchdog.

Shutdown (SIGTERM/SIGINT): no new runs start; crawls are told to stop (Scrapy closes gracefully) and, after
``shutdown_grace``, their processes are killed and their runs recorded as ``killed``; the matcher and the
dispatcher finish the item or message in hand. Everything else stays in the database for the next start.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)

from config.errors import ServiceError
from config.loader import TocsinConfig
from monitor.alerts.removals import raise_removal_alerts
from monitor.delivery.digests import run_digests
from monitor.rules import RuleEngine
from monitor.service import scheduling
from monitor.service.app import App
from monitor.service.crawl_round import crawl_source, kill_crawl_children, recheck_matched
from monitor.service.health import (
    HealthServer,
    HealthState,
    ServiceMetrics,
    publish_state,
    sd_notify,
    watchdog_interval,
)
from monitor.service.housekeeping import release_free_memory, run_housekeeping
from monitor.service.instance_lock import InstanceLock
from monitor.service.reload import ConfigReloader
from monitor.service.workers import DispatchWorker, MatchWorker
from storage.models import utcnow

log = logging.getLogger(__name__)
TRIM_EVERY = 60.0  # seconds between returning freed heap memory to the OS


@dataclass
class Service:
    app: App
    lock: InstanceLock
    stop: threading.Event = field(default_factory=threading.Event)
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    config_error: str | None = None
    health_address: str | None = None
    _active_crawls: dict[str, float] = field(default_factory=dict)
    _signatures: dict[str, str] = field(default_factory=dict)
    _lock_ok: bool = True

    def __post_init__(self) -> None:
        self.started_at = utcnow()
        self._health_server: HealthServer | None = None
        self._last_trim = 0.0
        self.matcher = MatchWorker(self)
        self.dispatcher = DispatchWorker(self)
        self.reloader = ConfigReloader(
            self.app.config, on_reload=self._reloaded, on_error=self._reload_failed
        )
        settings = self.app.config.settings.service
        self.scheduler = scheduling.build_scheduler(settings.max_concurrent_crawls)
        self.scheduler.add_listener(
            self._job_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES
        )
        self.health = HealthState(
            checks={
                "scheduler": lambda: (
                    None if self.scheduler.running else "the scheduler is not running"
                ),
                "instance_lock": lambda: None if self._lock_ok else "the instance lock was lost",
                "matcher": lambda: (
                    None if self.matcher.thread.is_alive() else "the matcher thread died"
                ),
                "dispatcher": lambda: (
                    None if self.dispatcher.thread.is_alive() else "the dispatcher thread died"
                ),
                "stopping": lambda: "shutting down" if self.stop.is_set() else None,
            },
            info=self._info,
        )

    # --- the jobs ------------------------------------------------------------------------------------

    def crawl(self, source_id: str) -> None:
        """One scheduled crawl of one source (``crawl:<id>``)."""
        source = next((s for s in self.app.config.sources if s.id == source_id and s.enabled), None)
        if source is None or self.stop.is_set():
            return
        self._active_crawls[source_id] = time.monotonic()
        try:
            outcome = crawl_source(
                self.app, source, on_item=self.matcher.submit, stop_event=self.stop
            )
        except Exception:
            log.exception("crawl of %s could not run", source_id, extra={"source": source_id})
            self.metrics.source_errors.labels(source_id, "error").inc()
            return
        finally:
            started = self._active_crawls.pop(source_id, time.monotonic())
            self.metrics.crawl_duration.labels(source_id).observe(time.monotonic() - started)
        self.metrics.crawls.labels(outcome.status).inc()
        self.metrics.items_fetched.labels(source_id, "new").inc(len(outcome.new_item_ids))
        self.metrics.items_fetched.labels(source_id, "updated").inc(len(outcome.updated_item_ids))
        if outcome.ok:
            self.metrics.last_success.labels(source_id).set(time.time())
        else:
            self.metrics.source_errors.labels(source_id, outcome.status).inc()
            log.warning(
                "crawl of %s %s: %s",
                source_id,
                outcome.status,
                outcome.error,
                extra={"source": source_id, "status": outcome.status, "run": outcome.run_id},
            )
        if outcome.status != "killed":
            self._notify(
                scheduling.check_source_health(self.app.database, self.app.config, source_id)
            )

    def recheck(self) -> None:
        """Re-fetch matched items for edits and deletions (``recheck``); edits are matched again at once."""
        if self.stop.is_set():
            return
        outcome = recheck_matched(
            self.app, on_item=self.matcher.submit, on_removed=self._item_removed, stop_event=self.stop
        )
        self.metrics.crawls.labels(f"recheck-{outcome.status}").inc()
        if outcome.status not in ("ok", "killed"):
            log.warning(
                "re-check %s: %s", outcome.status, outcome.error, extra={"status": outcome.status}
            )
        self.sweep_removals()

    def _item_removed(self, item_id: int, reason: str) -> None:
        # Counted and logged only: the alert is derived from the database (monitor.alerts.removals) after the
        # re-check and by every dispatcher run, so a crash before this callback loses nothing.
        self.metrics.items_removed.inc()
        log.info(
            "item %d was removed at its source: %s",
            item_id,
            reason,
            extra={"item": item_id, "reason": reason},
        )

    def sweep_removals(self) -> None:
        """Alert every removal that has no alert yet (monitor.alerts.removals), then send them."""
        if self.stop.is_set():
            return
        try:
            raised = raise_removal_alerts(self.app.database, self.app.config)
        except Exception:
            log.exception("the removal-alert sweep failed; it runs again with the next dispatcher run")
            return
        created = [r for r in raised if r.created]
        self.metrics.alerts.labels("new").inc(len(created))
        if created:
            self.dispatcher.wake()

    def dispatch(self) -> None:
        """The periodic dispatcher job: match anything left pending, alert removals, send the outbox."""
        self.matcher.sweep()
        self.sweep_removals()
        self.dispatcher.wake()

    def digest(self, channel: str) -> None:
        """At a channel's digest time: fold what was held for it into one digest, then send it."""
        bundles = run_digests(self.app.database, self.app.config, channels=[channel])
        log.info(
            "digest time for channel %s: %d digests",
            channel,
            len(bundles),
            extra={"channel": channel},
        )
        self.dispatcher.wake()

    def housekeeping(self) -> None:
        run_housekeeping(self.app.database, self.app.config.settings.service)

    def heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_trim >= TRIM_EVERY:
            self._last_trim = now
            release_free_memory()
        publish_state(
            self.app.database,
            {
                "instance": self._info(),
                "schedule": {
                    job_id: when.isoformat() if when else None
                    for job_id, when in scheduling.next_runs(self.scheduler).items()
                },
            },
        )

    def reload(self) -> None:
        self.reloader.poll()

    # --- reload --------------------------------------------------------------------------------------

    def _reloaded(self, config: TocsinConfig, engine: RuleEngine) -> None:
        self.app.rules = engine
        self.app.config = config
        if self.config_error is not None:
            scheduling.resolve_config_error(self.app.database)
        self.config_error = None
        changes = self._sync_jobs()
        self.metrics.config_reloads.labels("ok").inc()
        log.info(
            "configuration reloaded: %d sources, jobs changed: %s",
            sum(s.enabled for s in config.sources),
            ", ".join(changes) or "none",
            extra={"changes": changes},
        )
        self.matcher.sweep()

    def _reload_failed(self, message: str) -> None:
        self.config_error = message
        self.metrics.config_reloads.labels("failed").inc()
        self._notify(scheduling.report_config_error(self.app.database, self.app.config, message))
        self.heartbeat()  # `tocsin status` shows the error at once

    def _sync_jobs(self) -> list[str]:
        config = self.app.config
        jobs = scheduling.ServiceJobs(
            dispatch=self.dispatch,
            digest=self.digest,
            housekeeping=self.housekeeping,
            heartbeat=self.heartbeat,
            reload=self.reload,
            recheck=self.recheck,
        )
        crawl_specs = scheduling.crawl_specs(
            config, scheduling.last_crawl_starts(self.app.database), self.crawl
        )
        specs = scheduling.fixed_specs(config, jobs) + crawl_specs
        return scheduling.sync_jobs(
            self.scheduler, specs, managed=lambda job_id: True, signatures=self._signatures
        )

    # --- events and health ---------------------------------------------------------------------------

    def _job_event(self, event: JobEvent) -> None:
        kind = {
            EVENT_JOB_MISSED: "missed",
            EVENT_JOB_ERROR: "error",
            EVENT_JOB_MAX_INSTANCES: "overrun",
        }.get(event.code, "other")
        self.metrics.scheduler_events.labels(kind).inc()
        if isinstance(event, JobExecutionEvent) and event.exception is not None:
            log.error(
                "job %s failed: %s",
                event.job_id,
                event.exception,
                extra={"job": event.job_id},
                exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
            )
        elif kind == "overrun":
            log.warning(
                "job %s is still running; this run is skipped",
                event.job_id,
                extra={"job": event.job_id},
            )

    def _notify(self, queued: bool) -> None:
        if queued:
            self.dispatcher.wake()

    def _info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "heartbeat_at": utcnow().isoformat(timespec="seconds"),
            "config_dir": str(self.app.config.directory),
            "config_error": self.config_error,
            "health": self.health_address,
            "sources_enabled": sum(s.enabled for s in self.app.config.sources),
            "crawls_running": sorted(self._active_crawls),
            "stopping": self.stop.is_set(),
        }

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        settings = self.app.config.settings.service
        if settings.health_enabled:
            try:
                server = HealthServer(
                    settings.health_host, settings.health_port, self.health, self.metrics
                )
            except OSError as exc:
                raise ServiceError(
                    f"cannot serve the health endpoint on {settings.health_host}:{settings.health_port} "
                    f"({exc.strerror}); change service.health_port, or set it to 0 for any free port"
                ) from None
            self._health_server = server.start()
            self.health_address = server.address
            log.info(
                "health endpoint on %s/healthz, metrics on %s/metrics",
                server.address,
                server.address,
                extra={"health": server.address},
            )
        self.matcher.thread.start()
        self.dispatcher.thread.start()
        self._sync_jobs()
        self.scheduler.start()
        self.matcher.sweep()  # items stored but not matched before the last stop
        self.heartbeat()
        sd_notify("READY=1")
        crawls = [j for j in self.scheduler.get_jobs() if j.id.startswith(scheduling.CRAWL_PREFIX)]
        log.info("tocsin is running: %d sources scheduled", len(crawls), extra={"pid": os.getpid()})

    def wait(self) -> None:
        """Block the main thread until asked to stop; keep the lock and systemd's watchdog checked."""
        watchdog = watchdog_interval()
        last_ping = last_lock_check = 0.0
        while not self.stop.wait(0.5):
            now = time.monotonic()
            if now - last_lock_check >= 5:
                last_lock_check = now
                if not self.lock.still_held():
                    self._lock_ok = False
                    log.critical(
                        "the instance lock was lost; stopping so that no alert is sent twice"
                    )
                    self.stop.set()
            if watchdog and now - last_ping >= watchdog and self.health.report()[0]:
                sd_notify("WATCHDOG=1")
                last_ping = now

    def shutdown(self) -> None:
        self.stop.set()
        self.dispatcher.wake()  # it may be waiting for its next pass
        sd_notify("STOPPING=1")
        log.info(
            "stopping: %d crawls in flight",
            len(self._active_crawls),
            extra={"crawls_running": sorted(self._active_crawls)},
        )
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        grace = self.app.config.settings.service.shutdown_grace.total_seconds()
        deadline = time.monotonic() + grace
        while self._active_crawls and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._active_crawls:
            killed = kill_crawl_children()
            log.warning(
                "abandoned %d crawls still running after %.0f s (killed processes %s)",
                len(self._active_crawls),
                grace,
                killed,
                extra={"sources": sorted(self._active_crawls)},
            )
            deadline = time.monotonic() + 3
            while self._active_crawls and time.monotonic() < deadline:
                time.sleep(0.05)
        for thread in (self.matcher.thread, self.dispatcher.thread):
            if thread.is_alive():
                thread.join(timeout=max(0.5, deadline - time.monotonic()))
        try:
            publish_state(
                self.app.database,
                {"instance": {**self._info(), "stopped_at": utcnow().isoformat()}},
            )
        except Exception:  # noqa: BLE001 - the database may be what failed
            log.warning("could not record the stop in the database", exc_info=True)
        if self._health_server is not None:
            self._health_server.stop()
        self.lock.release()
        self.app.close()
        log.info("stopped")
