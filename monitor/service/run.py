"""``tocsin run`` as a process: load, lock, recover, start the service, wait for a signal, stop cleanly;
or ``--once``: one concurrent round of every enabled source, then exit."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from config.loader import load_config
from monitor.service import instance_lock, memory_report
from monitor.service.app import App
from monitor.service.crawl_round import kill_crawl_children
from monitor.service.daemon import Service
from monitor.service.housekeeping import recover_after_crash
from monitor.service.logs import configure_logging
from monitor.service.web import ConsoleServer
from storage import crawl_repo

log = logging.getLogger(__name__)


def _install_signal_handlers(stop: threading.Event) -> None:
    def _handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            kill_crawl_children()
            os._exit(128 + signum)
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)


def run_service(
    config_dir: Path | str | None,
    *,
    once: bool = False,
    standby: bool = False,
    on_started: Callable[[Service], None] | None = None,
) -> int:
    """Everything ``tocsin run`` does; returns the exit code."""
    config = load_config(config_dir)
    configure_logging(config.settings.log)
    stop = threading.Event()
    _install_signal_handlers(stop)
    lock = instance_lock.acquire(
        config.database_url,
        standby=standby,
        poll=config.settings.service.standby_poll,
        stop=stop,
        on_wait=lambda holder: log.info(
            "standing by: another instance is active (%s)", holder, extra={"holder": holder}
        ),
    )
    if lock is None:
        log.info("stopped while standing by")
        return 0
    try:
        app = App.open(config_dir)
        app.rules  # noqa: B018 - compile the rules now: a broken rule file must stop the start, not a job
    except BaseException:
        lock.release()
        raise
    recover_after_crash(app.database)
    service = Service(app=app, lock=lock, stop=stop)
    if once:
        return run_once(service)
    console: ConsoleServer | None = None
    try:
        service.start()
        if app.config.settings.web is not None:  # the analyst console, in a thread (changes need a restart)
            console = ConsoleServer(app, in_service=True).start()
        memory_report.install()  # only with TOCSIN_TRACEMALLOC set: SIGUSR1 logs what grew
        if on_started is not None:
            on_started(service)
        service.wait()
    finally:
        if console is not None:
            console.stop()
        service.shutdown()
    return 0 if service._lock_ok else 1


def run_once(service: Service) -> int:
    """``tocsin run --once``: crawl every enabled source now (concurrently), match, send, exit.

    Returns 1 when a crawl failed (for cron jobs and scripts), else 0.
    """
    from concurrent.futures import ThreadPoolExecutor as Pool

    app = service.app
    sources = [s for s in app.config.sources if s.enabled]
    try:
        with Pool(app.config.settings.service.max_concurrent_crawls) as pool:
            list(pool.map(service.crawl, [s.id for s in sources]))
        if not service.stop.is_set():
            service.matcher.match(service.matcher.pending_ids())
            service.sweep_removals()  # removals a killed run recorded but never alerted
            service.dispatcher.drain()
        with app.database.read() as session:
            failures = crawl_repo.consecutive_failures(session)
        failed = [s.id for s in sources if failures.get(s.id, 1) > 0]
    finally:
        service.lock.release()
        app.close()
    return 1 if failed else 0
