"""A matched article deleted at its source raises one ``article_removed`` alert, derived from the database.

Real parts on loopback: a local news site, crawls and re-checks in child processes, a migrated SQLite file,
and an Apprise ``json://`` channel posting to a local inbox.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Select, delete, select

from monitor.alerts.lifecycle import dismiss
from monitor.alerts.removals import EVENT_TYPE, raise_removal_alerts
from monitor.delivery.channels.telegram import render_telegram
from monitor.delivery.compose import alert_view
from monitor.demo.server import SiteServer as Inbox
from monitor.messages import render_email
from monitor.service import instance_lock
from monitor.service.app import App
from monitor.service.crawl_round import RoundReport, run_round
from monitor.service.daemon import Service
from monitor.service.run import run_once
from storage.crawl_repo import mark_removed
from storage.models import Alert, Delivery, Item, Match
from tests.crawler.pages import days_ago, rss
from tests.support.site import SiteServer

RULES = {"test.yaml": """\
version: 1
rules:
  - id: execution.test
    event: execution
    severity: critical
    query: 'executed'
"""}
# Hostile scraped text: markup, a right-to-left override, an ampersand.
HOSTILE_TITLE = 'Prisoner executed <script>alert("x")</script> \u202eevil & co'
ARTICLE = "/news/executed.html"
T = TypeVar("T")


def article_page(title: str, body: str) -> str:
    return (f"<html lang='en'><head><title>{html.escape(title)}</title></head><body><nav>Home News</nav>"
            f"<article><h1>{html.escape(title)}</h1><p>{body}</p><p>{body} The family was not told.</p>"
            "</article><footer>(c) site</footer></body></html>")


@dataclass
class World:
    app: App
    site: SiteServer
    inbox: Inbox

    def round(self, *, recheck: bool = False) -> RoundReport:
        """What ``tocsin crawl`` does (monitor.service.crawl_round.run_round): with ``recheck``, only the re-check."""
        return run_round(self.app, [] if recheck else self.app.config.sources, recheck=recheck)

    def item(self) -> Item:
        [item] = self._detached(select(Item).where(Item.url == self.site.url(ARTICLE)))
        return item

    def removal_alerts(self) -> list[Alert]:
        return self._detached(select(Alert).where(Alert.event_type == EVENT_TYPE).order_by(Alert.id))

    def deliveries(self, alert_id: int) -> list[Delivery]:
        return self._detached(select(Delivery).where(Delivery.alert_id == alert_id))

    def _detached(self, query: Select[T]) -> list[T]:
        with self.app.database.read() as session:
            found = list(session.scalars(query))
            session.expunge_all()
            return found

    def messages(self) -> list[dict[str, Any]]:
        return [dict(entry["payload"]) for entry in self.inbox.inbox]


@pytest.fixture
def world_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, or PostgreSQL for the tests parametrized (indirectly) with "postgres"."""
    if getattr(request, "param", "sqlite") == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'tocsin.db'}"


BOTH_DATABASES = pytest.mark.parametrize(
    "world_db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
def world(tmp_config: Callable[..., Path], tmp_path: Path, world_db: str) -> Iterator[World]:
    (tmp_path / "inbox").mkdir()
    with SiteServer() as site:
        inbox = Inbox(tmp_path / "inbox").start()
        site.route(ARTICLE, article_page(HOSTILE_TITLE, "Two prisoners were executed at dawn in Ghezel Hesar."))
        site.route("/feed.xml", rss(site.base, [(ARTICLE, "Prisoners executed", days_ago(1))]),
                   content_type="application/rss+xml")
        config = tmp_config(
            settings={"database_url": world_db,
                      "crawl": {"autothrottle": False, "obey_robots": False, "retries": 0,
                                "download_timeout": "2s"},
                      "channels": {"inbox": {"url": f"json://127.0.0.1:{inbox.port}/inbox"}}},
            sources=[{"id": "irna", "kind": "feed", "name": "IRNA", "url": site.url("/feed.xml"), "lang": "en",
                      "tags": ["state_media"]}],
            rules=RULES, watchlists={},
        )
        app = App.open(config)
        try:
            world = World(app, site, inbox)
            first = world.round()
            assert [c.status for c in first.crawls] == ["ok"] and len(first.processing.alerts_new) == 1
            assert len(world.messages()) == 1  # the execution alert itself
            yield world
        finally:
            app.close()
            inbox.stop()


@pytest.mark.parametrize(("reply", "reason"), [
    ({"body": b"gone", "status": 404}, "HTTP 404 Not Found"),
    ({"body": b"", "status": 302, "headers": {"Location": "/"}}, "redirected to the home page"),
], ids=["404", "redirect-home"])
def test_a_removed_matched_article_raises_one_alert_naming_what_was_removed(
        world: World, reply: dict[str, Any], reason: str) -> None:
    world.site.route(ARTICLE, **reply)

    report = world.round(recheck=True)

    assert report.recheck is not None and report.recheck.removed_item_ids == [world.item().id]
    item = world.item()
    assert item.status == "removed" and item.removal_reason is not None and reason in item.removal_reason
    [alert] = world.removal_alerts()
    assert (alert.kind, alert.severity, alert.subject) == ("removal", "warning", "IRNA")
    assert item.removal_alert_id == alert.id
    assert [(d.channel, d.status) for d in world.deliveries(alert.id)] == [("inbox", "sent")]
    assert [r.alert_id for r in report.removals] == [alert.id]

    [_, message] = world.messages()
    text = message["title"] + "\n" + message["message"]
    assert "[WARNING] article_removed: IRNA" in message["title"]
    for fact in ("Prisoner executed", world.site.url(ARTICLE), reason, "execution.test",
                 f"tocsin evidence export {item.id}", f"{item.removed_at:%Y-%m-%d %H:%M UTC}"):
        assert fact in text, fact
    assert "\u202e" not in text  # the bidi override is dropped

    with world.app.database.read() as session:
        view = alert_view(session, session.get_one(Alert, alert.id))
    for rendered in ("\n".join(render_telegram(view)), render_email(view).html):
        assert "<script>" not in rendered and "&lt;script&gt;" in rendered
        assert "\u202e" not in rendered and "&amp; co" in rendered


def test_a_second_recheck_and_a_second_sweep_raise_nothing_more(world: World) -> None:
    world.site.route(ARTICLE, b"gone", status=410)
    world.round(recheck=True)
    [alert] = world.removal_alerts()

    again = world.round(recheck=True)

    assert again.recheck is not None and again.recheck.checked == 0  # a removed item is not re-checked
    assert again.removals == [] and raise_removal_alerts(world.app.database, world.app.config) == []
    assert [a.id for a in world.removal_alerts()] == [alert.id]
    assert len(world.messages()) == 2


@pytest.mark.parametrize("reply", [
    {"body": b"oops", "status": 500},
    {"body": b"", "status": 200},
    {"body": article_page("x", "y"), "status": 200, "delay": 3.0},  # longer than download_timeout
], ids=["500", "empty-200", "timeout"])
def test_a_failed_or_empty_fetch_is_no_removal_and_no_alert(world: World, reply: dict[str, Any]) -> None:
    world.site.route(ARTICLE, **reply)

    report = world.round(recheck=True)

    assert report.recheck is not None and report.recheck.checked == 1 and report.recheck.removed_item_ids == []
    item = world.item()
    assert item.status == "active" and item.checked_at is not None
    assert world.removal_alerts() == [] and len(world.messages()) == 1


@BOTH_DATABASES
def test_a_removal_whose_callback_never_ran_is_alerted_by_the_next_crawl(world: World) -> None:
    """The service was killed after the re-check committed the removal: `tocsin crawl` recovers it."""
    item_id = world.item().id
    with world.app.database.write() as session:  # what the re-check child commits, and nothing more
        assert mark_removed(session, item_id, reason="HTTP 404 Not Found", evidence=None)

    report = world.round()

    [alert] = world.removal_alerts()
    assert [r.item_id for r in report.removals] == [item_id]
    assert [d.status for d in world.deliveries(alert.id)] == ["sent"]
    assert "HTTP 404 Not Found" in world.messages()[-1]["message"]


@BOTH_DATABASES
def test_gone_again_within_the_window_is_folded_and_later_is_news(world: World) -> None:
    config, database = world.app.config, world.app.database
    item_id = world.item().id
    t0 = datetime.now(UTC)

    def removed_at(when: datetime) -> list[bool]:
        with database.write() as session:
            item = session.get_one(Item, item_id)  # it came back (an edit reactivates it), then went again
            item.status, item.removed_at, item.removal_reason = "active", None, None
            mark_removed(session, item_id, reason="HTTP 404 Not Found", evidence=None, when=when)
        return [r.created for r in raise_removal_alerts(database, config, now=when)]

    assert removed_at(t0) == [True]
    assert removed_at(t0 + timedelta(days=3)) == [False]  # folded into the first alert, nothing sent
    assert raise_removal_alerts(database, config, now=t0 + timedelta(days=3)) == []
    assert removed_at(t0 + timedelta(days=10)) == [True]  # outside alerts.dedup_window (7d): news again

    first, second = world.removal_alerts()
    assert len(first.details["removed_again"]) == 1
    assert len(world.deliveries(first.id)) == len(world.deliveries(second.id)) == 1


@BOTH_DATABASES
def test_only_items_that_matched_and_were_not_dismissed_raise_alerts(world: World) -> None:
    item_id = world.item().id
    with world.app.database.write() as session:
        event_alert = session.scalars(select(Match.alert_id).where(Match.item_id == item_id)).one()
        assert event_alert is not None
        dismiss(session, event_alert, reason="an old case, republished")
        mark_removed(session, item_id, reason="HTTP 410 Gone", evidence=None)
    assert raise_removal_alerts(world.app.database, world.app.config) == []

    with world.app.database.write() as session:  # an item that never matched a rule
        session.execute(delete(Match).where(Match.item_id == item_id))
    assert raise_removal_alerts(world.app.database, world.app.config) == []
    assert world.removal_alerts() == []


def test_the_severity_comes_from_the_settings(world: World) -> None:
    settings = world.app.config.settings
    settings.alerts.removal_severity = "critical"
    with world.app.database.write() as session:
        mark_removed(session, world.item().id, reason="HTTP 404 Not Found", evidence=None)
    [raised] = raise_removal_alerts(world.app.database, world.app.config)
    assert raised.channels == ("inbox",)
    assert [a.severity for a in world.removal_alerts()] == ["critical"]


def test_the_service_recheck_and_dispatcher_job_raise_the_alert_and_wake_the_dispatcher(world: World) -> None:
    lock = instance_lock.acquire(world.app.config.database_url, standby=False)
    assert lock is not None
    service = Service(app=world.app, lock=lock)
    try:
        world.site.route(ARTICLE, b"gone", status=404)
        service.recheck()  # the real job: a re-check child, then the sweep

        [alert] = world.removal_alerts()
        assert service.dispatcher._wake.is_set()
        assert [d.status for d in world.deliveries(alert.id)] == ["pending"]  # the dispatcher sends it

        service.dispatcher._wake.clear()
        service.dispatch()  # the periodic job sweeps too: nothing left to raise
        assert [a.id for a in world.removal_alerts()] == [alert.id]
    finally:
        lock.release()


def test_a_removal_whose_callback_never_ran_is_alerted_by_run_once(world: World) -> None:
    """`tocsin run --once` (cron) recovers a removal a killed service committed but never alerted."""
    item_id = world.item().id
    with world.app.database.write() as session:
        assert mark_removed(session, item_id, reason="HTTP 410 Gone", evidence=None)
    lock = instance_lock.acquire(world.app.config.database_url, standby=False)
    assert lock is not None
    service = Service(app=world.app, lock=lock)

    assert run_once(service) == 0  # releases the lock and closes the app

    [alert] = world.removal_alerts()
    assert [d.status for d in world.deliveries(alert.id)] == ["sent"]
    assert "HTTP 410 Gone" in world.messages()[-1]["message"]
