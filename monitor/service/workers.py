"""The service's two worker threads: the matcher (items as crawls announce them) and the dispatcher (the outbox).

Each works for a :class:`~monitor.service.daemon.Service`, reads its app, metrics and stop event, and wakes the
other through it: a match that raised an alert wakes the dispatcher.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from config.errors import MatchingError
from monitor.alerts.matching import process_pending
from monitor.delivery.dispatch import dispatch_due
from monitor.service.crawl_round import run_analysis
from storage import alerts_repo
from storage.models import utcnow
from storage.repository import pending_item_ids

if TYPE_CHECKING:
    from monitor.service.daemon import Service

log = logging.getLogger(__name__)
SWEEP_BATCH = 200
MATCH_BATCH = 50  # items matched in one transaction


class MatchWorker:
    """Matches items as crawls announce them; a sweep also picks up items stored while nobody listened."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._poisoned: set[int] = (
            set()
        )  # items whose matching raised: logged once, skipped by sweeps
        self.thread = threading.Thread(target=self._run, name="matcher", daemon=True)

    def submit(self, item_id: int) -> None:
        self._queue.put(item_id)

    def sweep(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        stop = self.service.stop
        while not stop.is_set():
            try:
                first = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < SWEEP_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ids = [item_id for item_id in batch if item_id is not None]
            if None in batch:
                ids += self.pending_ids()
            self.match(list(dict.fromkeys(ids)))

    def pending_ids(self) -> list[int]:
        with self.service.app.database.read() as session:
            return [
                item_id
                for item_id in pending_item_ids(session, limit=5000)
                if item_id not in self._poisoned
            ]

    def match(self, item_ids: list[int]) -> None:
        """Match in batches of MATCH_BATCH items (one transaction each); an item that fails is set aside."""
        app, metrics = self.service.app, self.service.metrics
        matched_any = False
        remaining = [item_id for item_id in item_ids if item_id not in self._poisoned]
        while remaining:
            if self.service.stop.is_set():
                return  # left pending in the database: the next start sweeps it
            chunk, remaining = remaining[:MATCH_BATCH], remaining[MATCH_BATCH:]
            try:
                report = process_pending(app.database, app.rules, app.config, item_ids=chunk,
                                         batch=MATCH_BATCH)
            except MatchingError as exc:
                log.error("%s; it stays pending", exc, exc_info=exc.__cause__, extra={"item": exc.item_id})
                self._poisoned.add(exc.item_id)
                # the items before it were committed; the rest of the chunk is tried again
                remaining = [item_id for item_id in chunk if item_id != exc.item_id] + remaining
                continue
            metrics.items_matched.inc(report.items)
            metrics.matches.inc(report.matches)
            metrics.alerts.labels("new").inc(len(report.alerts_new))
            metrics.alerts.labels("updated").inc(len(report.alerts_updated))
            matched_any = matched_any or report.matches > 0
            if report.alerts_new or report.alerts_updated:
                self.service.dispatcher.wake()
        if matched_any:
            self.analyze()

    def analyze(self) -> None:
        """Surges and escalation ladders over what was just matched (idempotent), then send what it raised."""
        try:
            raised = run_analysis(self.service.app)
        except Exception:
            log.exception("early-warning analysis failed; it runs again after the next match")
            return
        if raised:
            self.service.dispatcher.wake()


class DispatchWorker:
    """Sends the outbox whenever woken, and at least every ``dispatch_interval``."""

    BATCH = 10  # small, so a shutdown waits for a few messages at most
    FOLLOW_UP = 1.0

    def __init__(self, service: Service) -> None:
        self.service = service
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self.last_pass: datetime | None = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        stop = self.service.stop
        progressed = False
        while not stop.is_set():
            interval = self.service.app.config.settings.schedule.dispatch_interval.total_seconds()
            # After a pass that sent something, look again soon: a paced channel may have more waiting.
            self._wake.wait(min(interval, self.FOLLOW_UP) if progressed else interval)
            self._wake.clear()
            if stop.is_set():
                return
            try:
                progressed = self.drain()
            except Exception:
                progressed = False
                log.exception("dispatching failed; pending deliveries stay in the outbox")

    def drain(self) -> bool:
        """Send until nothing more is due now; True when something was sent."""
        app, metrics = self.service.app, self.service.metrics
        progressed = False
        while not self.service.stop.is_set():
            report = dispatch_due(app.database, app.config, limit=self.BATCH)
            metrics.deliveries.labels("sent").inc(len(report.sent))
            metrics.deliveries.labels("retrying").inc(len(report.retrying))
            metrics.deliveries.labels("dead").inc(len(report.dead))
            progressed = progressed or bool(report.sent)
            if not (report.sent or report.retrying or report.dead):
                break
        self.last_pass = utcnow()
        with app.database.read() as session:
            pending = alerts_repo.waiting_deliveries(session)
        metrics.outbox_pending.set(pending)
        return progressed
