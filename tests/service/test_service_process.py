"""``tocsin run`` as a real process against a local news site, alerts arriving at a loopback webhook.

Each test publishes articles while the service runs and waits (polling, with deadlines) for what a user
would see: the alert message, the service's exit, the status output.
"""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from storage.db import Database
from storage.models import CrawlRun, Delivery
from tests.service.support import (
    RULE_EXECUTED,
    NewsSite,
    ServiceProcess,
    service_settings,
    status,
    wait_until,
)

pytestmark = pytest.mark.slow

StartService = Callable[..., ServiceProcess]
OpenDb = Callable[[Path], Database]


def ok_runs(database: Database) -> int:
    return runs_with_status(database, "ok")


def runs_with_status(database: Database, state: str) -> int:
    try:
        with database.read() as session:
            query = select(func.count()).select_from(CrawlRun).where(CrawlRun.status == state)
            return int(session.scalar(query) or 0)
    except OperationalError:  # the service has not created the tables yet
        return 0


def wait_for_crawls(database: Database, count: int = 1, *, after: int = 0) -> None:
    """Wait until ``count`` more crawls than ``after`` finished successfully."""
    wait_until(lambda: ok_runs(database) >= after + count, what=f"{count} successful crawl(s)")


def outbox_settled(database: Database) -> bool:
    with database.read() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status.in_(["pending", "sending"]))
        )
    return waiting == 0


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_new_article_is_alerted_and_visible_in_status_and_metrics(
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

    article = news_site.publish("Three prisoners executed at dawn in Qezel Hesar")
    [alert] = wait_until(
        lambda: news_site.alerts_for(article.title), what="the alert at the webhook"
    )
    assert "CRITICAL" in alert["title"]
    assert news_site.alerts_for("dismissed teachers") == []

    report = status(config)
    assert report["service"]["running"] is True
    [source] = report["sources"]
    assert source["id"] == "news" and source["last_success"] and source["items"] == 2
    assert source["next_run"] is not None
    assert report["recent_alerts"][0]["title"].endswith(
        "Three prisoners executed at dawn in Qezel Hesar"
    )
    assert report["recent_alerts"][0]["deliveries"] == {"hook": "sent"}

    base = service.health_url()
    code, body = get(f"{base}/healthz")
    assert code == 200 and json.loads(body)["status"] == "ok"
    code, body = get(f"{base}/metrics")
    metrics = body.decode()
    assert code == 200
    assert 'tocsin_items_fetched_total{outcome="new",source="news"}' in metrics
    assert 'tocsin_deliveries_total{result="sent"} 1.0' in metrics
    assert "tocsin_crawl_duration_seconds_bucket" in metrics


def test_sigterm_mid_crawl_exits_cleanly_and_leaves_no_crawl_behind(
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
    slow = news_site.publish("A page that takes its time", hold=True)
    wait_until(
        lambda: news_site.requested(slow.slug), what="the crawl to be fetching the held page"
    )

    service.signal(signal.SIGTERM)
    assert (
        service.wait(timeout=15) == 0
    )  # well before the held page (30 s) or the crawl timeout (40 s)
    assert "stopped" in service.output
    assert runs_with_status(database, "running") == 0
    wait_until(lambda: not crawl_children(config), timeout=5, what="no crawl process left running")


def crawl_children(config_dir: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"crawler.child" in cmdline and str(config_dir).encode() in cmdline:
                found.append(int(entry.name))
    return found


def test_sigkill_mid_crawl_then_restart_loses_nothing_and_duplicates_nothing(
    news_site: NewsSite,
    service_config: Callable[..., Path],
    start_service: StartService,
    service_db: OpenDb,
) -> None:
    news_site.publish("Court hears appeal of dismissed teachers")
    config = service_config()
    first = start_service(config)
    database = service_db(config)
    wait_for_crawls(database)

    sent = news_site.publish("Prisoner Ahmad executed in Karaj")
    in_flight = news_site.publish("Prisoner Reza executed in Shiraz", hold=True)
    wait_until(lambda: news_site.alerts_for(sent.title), what="the first alert")
    # The kill must land mid-crawl, not between the webhook's answer and the "sent" commit: that is the
    # documented at-most-once resend after alerts.send_lease (tests/delivery/test_delivery_faults.py).
    wait_until(lambda: outbox_settled(database), what="the first alert recorded as sent")
    wait_until(
        lambda: news_site.requested(in_flight.slug), what="the crawl to be fetching the held page"
    )
    first.signal(signal.SIGKILL)
    first.wait()
    news_site.release(in_flight.slug)

    second = start_service(config)
    wait_until(
        lambda: news_site.alerts_for(in_flight.title), what="the alert for the article in flight"
    )
    done = ok_runs(database)
    wait_for_crawls(
        database, 2, after=done
    )  # the restarted service went over the feed again, twice
    wait_until(lambda: outbox_settled(database), what="an empty outbox")
    assert len(news_site.alerts_for(sent.title)) == 1
    assert len(news_site.alerts_for(in_flight.title)) == 1
    assert runs_with_status(database, "running") <= 1  # at most the crawl going on right now
    assert "recovered after an unclean stop" in second.output


def test_an_edited_rule_file_applies_to_the_next_item(
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
    before = news_site.publish("Activist flogged in Tabriz")
    wait_for_crawls(database, 2, after=ok_runs(database))
    assert news_site.alerts_for(before.title) == []

    mark = len(service.output)
    (config / "rules" / "test.yaml").write_text(
        (config / "rules" / "test.yaml").read_text()
        + "  - id: test-flogged\n    event: corporal_punishment\n    severity: warning\n    query: 'flogged'\n"
    )
    service.wait_for_output("configuration reloaded", after=mark)
    after = news_site.publish("Student flogged in Mashhad")
    [alert] = wait_until(
        lambda: news_site.alerts_for(after.title), what="an alert from the new rule"
    )
    assert "corporal" in alert["title"] and "WARNING" in alert["title"]  # the new rule's event


def test_a_broken_rule_file_keeps_the_old_rules_and_is_reported(
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

    (config / "rules" / "test.yaml").write_text(
        "version: 1\nrules:\n  - id: test-executed\n    event: execution\n    severity: extreme\n"
        "    query: 'executed'\n"
    )
    service.wait_for_output("configuration not reloaded")
    [operator] = wait_until(
        lambda: news_site.alerts_for("Configuration error"), what="the operator alert"
    )
    assert "test.yaml" in operator["message"] and "severity" in operator["message"]
    assert "test.yaml" in (status(config)["service"]["config_error"] or "")

    article = news_site.publish("Prisoner executed in Urmia")
    wait_until(
        lambda: news_site.alerts_for(article.title), what="an alert from the rules still active"
    )


def test_a_second_instance_refuses_or_stands_by_and_never_double_sends(
    news_site: NewsSite,
    service_config: Callable[..., Path],
    start_service: StartService,
    service_db: OpenDb,
) -> None:
    news_site.publish("Court hears appeal of dismissed teachers")
    config = service_config()
    active = start_service(config)
    database = service_db(config)
    wait_for_crawls(database)

    refused = start_service(config)
    assert refused.wait(timeout=30) == 2
    assert "another `tocsin run` is already active" in refused.output

    standby = start_service(config, "--standby")
    standby.wait_for_output("standing by")
    first = news_site.publish("Prisoner Hossein executed in Isfahan")
    wait_until(lambda: news_site.alerts_for(first.title), what="the active instance's alert")

    active.signal(signal.SIGTERM)
    assert active.wait() == 0
    standby.wait_for_output("tocsin is running")
    second = news_site.publish("Prisoner Saeed executed in Zahedan")
    wait_until(
        lambda: news_site.alerts_for(second.title), what="the alert sent by the former standby"
    )
    wait_for_crawls(database, 1, after=ok_runs(database))
    wait_until(lambda: outbox_settled(database), what="an empty outbox")
    assert len(news_site.alerts_for(first.title)) == 1
    assert len(news_site.alerts_for(second.title)) == 1


def test_run_once_crawls_sends_and_exits(
    news_site: NewsSite, service_config: Callable[..., Path], start_service: StartService
) -> None:
    article = news_site.publish("Two prisoners executed in Qom")
    once = start_service(service_config(), "--once")
    assert once.wait(timeout=60) == 0
    assert len(news_site.alerts_for(article.title)) == 1


def test_a_busy_health_port_is_a_clear_error(
    news_site: NewsSite, service_config: Callable[..., Path], start_service: StartService
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = service_config(service={"health_port": port})
        service = start_service(config)
        assert service.wait(timeout=60) == 2
    assert f"cannot serve the health endpoint on 127.0.0.1:{port}" in service.output
    assert "Traceback" not in service.output


def test_a_hung_crawl_is_killed_at_its_timeout_and_the_source_keeps_being_crawled(
    news_site: NewsSite,
    service_config: Callable[..., Path],
    start_service: StartService,
    service_db: OpenDb,
) -> None:
    news_site.publish("A page that never finishes loading", hold=True)
    config = service_config(
        schedule={
            "interval": "1s",
            "jitter": "0s",
            "dispatch_interval": "1s",
            "crawl_timeout": "3s",
        }
    )
    service = start_service(config)
    database = service_db(config)
    wait_until(
        lambda: runs_with_status(database, "timeout") >= 2,
        timeout=60,
        what="two crawls killed at their timeout, one after the other",
    )
    assert "crawl of news timeout" in service.output
    code, body = get(f"{service.health_url()}/metrics")
    assert code == 200
    assert 'tocsin_source_errors_total{source="news",status="timeout"}' in body.decode()


def test_a_failing_source_raises_one_operator_alert(
    news_site: NewsSite,
    tmp_config: Callable[..., Path],
    start_service: StartService,
    service_db: OpenDb,
) -> None:
    settings = service_settings(news_site)
    settings["crawl"] = {**settings["crawl"], "unhealthy_after": 2}
    config = tmp_config(
        settings=settings,
        rules={"test.yaml": RULE_EXECUTED},
        watchlists={},
        sources=[
            {
                "id": "gone",
                "name": "Gone News",
                "kind": "feed",
                "url": "http://127.0.0.1:9/feed.xml",
            }
        ],
    )
    start_service(config)
    database = service_db(config)
    [alert] = wait_until(
        lambda: news_site.alerts_for("Source Gone News is failing"), what="the operator alert"
    )
    assert "127.0.0.1:9/feed.xml" in alert["message"]
    failed = runs_with_status(database, "failed")
    wait_until(
        lambda: runs_with_status(database, "failed") >= failed + 2, what="two more failed crawls"
    )
    wait_until(lambda: outbox_settled(database), what="an empty outbox")
    assert len(news_site.alerts_for("Source Gone News is failing")) == 1
