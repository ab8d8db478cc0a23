"""``tocsin run`` crawls on the configuration it runs with, and its crawls die with it.

A user's broken edit of ``sources.yaml`` is reported and the service keeps its last good configuration:
the crawls must keep running on that configuration too (the crawl child is handed it, it never reads the
files). A SIGKILLed service must not leave crawls or extraction workers running on unobserved.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.crawler import proctree
from tests.service.support import NewsSite, ServiceProcess, wait_until
from tests.service.test_service_process import (
    OpenDb,
    StartService,
    ok_runs,
    outbox_settled,
    runs_with_status,
    wait_for_crawls,
)

pytestmark = pytest.mark.slow

BROKEN_SOURCES = {
    "a YAML syntax error": ("sources:\n  - id: news\n    kind: feed\n    url: [unclosed\n", "Ahmad", "Karaj"),
    "a schema error": ("sources:\n  - id: news\n    kind: carrier-pigeon\n    url: nowhere\n", "Reza", "Shiraz"),
}


def rewrite(path: Path, text: str) -> None:
    """Write and move the mtime forward, as a later edit would (file systems with coarse mtimes)."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def operator_alerted(site: NewsSite, *, after: int) -> bool:
    return len(site.alerts_for("Configuration error")) > after


def test_a_broken_sources_file_is_reported_and_the_sources_are_still_crawled(
    news_site: NewsSite,
    service_config: Callable[..., Path],
    start_service: StartService,
    service_db: OpenDb,
) -> None:
    news_site.publish("Court hears appeal of dismissed teachers")
    config = service_config()
    service = start_service(config)
    database = service_db(config)
    wait_for_crawls(database)
    sources = config / "sources.yaml"
    good = sources.read_text(encoding="utf-8")

    for broken, name, city in BROKEN_SOURCES.values():
        mark = len(service.output)
        alerts_before = len(news_site.alerts_for("Configuration error"))
        rewrite(sources, broken)
        service.wait_for_output(r"configuration not reloaded[^\n]*sources\.yaml", after=mark)
        wait_until(partial(operator_alerted, news_site, after=alerts_before),
                   what="the operator alert about the broken file")

        done = ok_runs(database)
        title = news_site.publish(f"Prisoner {name} executed in {city}").title
        wait_until(partial(news_site.alerts_for, title),
                   what="the alert for an article published while the file is broken")
        wait_for_crawls(database, 2, after=done)

        mark = len(service.output)
        rewrite(sources, good)  # fixed: the next error is news again
        service.wait_for_output("configuration reloaded", after=mark)

    assert runs_with_status(database, "failed") == 0


def service_crawl(service: ServiceProcess) -> tuple[proctree.Proc, list[proctree.Proc]] | None:
    """The service's crawl child, once its extraction workers run, with all its descendants."""
    for child in proctree.children(service.process.pid):
        if "crawler.child" in proctree.cmdline(child.pid):
            tree = proctree.descendants(child.pid)
            if sum("forkserver" in proctree.cmdline(p.pid) for p in tree) >= 2:
                return child, tree
    return None


def test_sigkill_of_the_service_takes_its_crawl_and_workers_with_it_and_a_restart_loses_nothing(
    news_site: NewsSite,
    service_config: Callable[..., Path],
    start_service: StartService,
    service_db: OpenDb,
) -> None:
    proctree.require_proc()
    sent = news_site.publish("Prisoner Hossein executed in Isfahan")
    in_flight = news_site.publish("Prisoner Saeed executed in Zahedan", hold=True)
    config = service_config()
    first = start_service(config)
    database = service_db(config)
    wait_until(lambda: news_site.alerts_for(sent.title), what="the alert for the first article")
    # mid-crawl, not mid-send (a kill between the webhook's answer and the "sent" commit is resent once)
    wait_until(lambda: outbox_settled(database), what="the first alert recorded as sent")
    wait_until(lambda: news_site.requested(in_flight.slug), what="the crawl fetching the held page")
    found = wait_until(lambda: service_crawl(first), what="the crawl child and its workers")
    assert found is not None
    crawl, workers = found

    first.signal(signal.SIGKILL)
    first.wait()

    everything = [crawl, *workers]
    wait_until(lambda: not proctree.survivors(everything), timeout=10,
               what="the crawl child and its extraction workers to exit")

    news_site.release(in_flight.slug)
    second = start_service(config)
    wait_until(lambda: news_site.alerts_for(in_flight.title), what="the alert for the article in flight")
    wait_for_crawls(database, 1, after=ok_runs(database))
    wait_until(lambda: outbox_settled(database), what="an empty outbox")
    assert len(news_site.alerts_for(sent.title)) == 1
    assert len(news_site.alerts_for(in_flight.title)) == 1
    assert "recovered after an unclean stop" in second.output
