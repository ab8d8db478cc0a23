"""Page decoding and extraction off the crawl's event loop.

trafilatura costs 5-20 ms of pure-Python CPU per page and holds the GIL, so a thread pool would not
help: pages go to a process pool (docs/sources.md, bench/bench_crawl.py). Workers fork from a
forkserver that imported the extractor once, so a crawl pays the import cost once, not per worker,
and never forks the running reactor. ``workers=0`` extracts inline (tiny crawls, debugging).
Workers exit when the crawl process dies, however it dies (crawler.lifeline): an idle worker would
otherwise wait on its task queue forever, and keep the forkserver alive with it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from crawler.encoding import decode_body, looks_binary
from crawler.extract import Extracted, ExtractionOverrides, extract_article
from crawler.lifeline import die_with_parent_process
from storage.records import BodyEvidence

log = logging.getLogger(__name__)
PRELOAD = ["crawler.extract", "crawler.encoding", "storage.records", "crawler.lifeline"]
MAX_AUTO_WORKERS = 4


@dataclass(frozen=True)
class PageJob:
    """What a worker needs to turn one response into text (all picklable)."""

    url: str
    body: bytes
    content_type: str | None
    header_charset: str | None
    encoding_override: str | None
    overrides: ExtractionOverrides
    # Also compress and hash the body for the evidence snapshot, here rather than on the event loop.
    keep_evidence: bool = False


@dataclass(frozen=True)
class PageResult:
    skip_reason: str | None
    extracted: Extracted | None = None
    encoding: str | None = None
    suspicious: bool = False
    decode_note: str | None = None
    evidence: BodyEvidence | None = None


def process_page(job: PageJob) -> PageResult:
    """Decode and extract one page; a body that is not text comes back with a skip reason."""
    if reason := looks_binary(job.body, job.content_type):
        return PageResult(skip_reason=f"not a text page ({reason})")
    if not job.body.strip():
        return PageResult(skip_reason="empty body")
    decoded = decode_body(job.body, header_charset=job.header_charset, override=job.encoding_override)
    extracted = extract_article(decoded.text, job.url, overrides=job.overrides)
    evidence = BodyEvidence.of(job.body) if job.keep_evidence else None
    return PageResult(None, extracted, decoded.encoding, decoded.suspicious, decoded.reason, evidence)


def auto_workers() -> int:
    return max(1, min(MAX_AUTO_WORKERS, os.cpu_count() or 1))


class PageProcessor:
    """Runs :func:`process_page` in worker processes and awaits the result on the event loop."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                             initializer=die_with_parent_process)
        return self._pool

    async def process(self, job: PageJob) -> PageResult:
        if self.workers <= 0:
            return process_page(job)
        try:
            return await asyncio.wrap_future(self._executor().submit(process_page, job))
        except BrokenProcessPool:
            # A worker died (lxml crash on hostile markup, out of memory): lose this page, not the crawl.
            log.error("extraction worker died on %s; restarting the pool", job.url)
            self.close()
            return PageResult(skip_reason="extraction worker crashed")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            _stop_forkserver()


def _stop_forkserver() -> None:
    """Reap the forkserver (and through it the workers) so their CPU time is accounted to this process
    and no orphan outlives the crawl. Private multiprocessing API, hence the guard."""
    from multiprocessing import forkserver

    stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
    if callable(stop):
        try:
            stop()
        except OSError:
            log.debug("forkserver already gone")
