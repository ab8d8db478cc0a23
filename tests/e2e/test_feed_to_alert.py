"""One path end to end: a real Scrapy crawl of a feed on loopback -> stored items -> a phrase rule matches ->
alert and deliveries written in the same transaction -> Apprise sends it -> a second round sends nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.alerts.matching import process_pending
from monitor.delivery.dispatch import dispatch_due
from monitor.demo.server import SiteServer
from monitor.service.app import App
from monitor.service.crawl_round import run_round
from storage.models import Alert, Delivery, Item, Match

SITE = Path(__file__).resolve().parents[1] / "data" / "e2e_site"
RULES = {"review.yaml": """\
version: 1
rules:
  - id: review.rejected.test
    description: a judicial review rejected
    event: review_rejected
    severity: critical
    query: '"judicial review" NEAR/8 rejected'
"""}
WATCHLISTS = {"people.yaml": """\
version: 1
lists:
  - id: death_row
    kind: person
    entries:
      - name: Behrouz Ehsani
        aliases: [بهروز احسانی]
"""}


def make_config(tmp_config: Callable[..., Path], server: SiteServer, database_url: str) -> Path:
    return tmp_config(
        settings={"database_url": database_url, "crawl": {"autothrottle": False},
                  "channels": {"inbox": {"url": f"json://127.0.0.1:{server.port}/inbox"}}},
        sources=[{"id": "rights", "kind": "feed", "name": "Test rights site", "url": f"{server.base_url}/feed.xml",
                  "tags": ["human_rights"], "lang": "en"}],
        rules=RULES, watchlists=WATCHLISTS,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    return sqlite_url if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


def test_feed_item_becomes_one_delivered_alert(tmp_config: Callable[..., Path],
                                               site_server: Callable[[Path], SiteServer], database_url: str) -> None:
    server = site_server(SITE)
    app = App.open(make_config(tmp_config, server, database_url))
    try:
        outcome = run_round(app, app.config.sources)
        assert [c.status for c in outcome.crawls] == ["ok"]
        with app.database.read() as session:
            items = {i.title: i for i in session.scalars(select(Item))}
            assert set(items) == {"Supreme Court rejects judicial review for Behrouz Ehsani",
                                  "City marathon draws record crowd"}
            review = items["Supreme Court rejects judicial review for Behrouz Ehsani"]
            assert "imminent risk of execution" in review.text and "Home" not in review.text
            assert review.snapshot is not None and review.snapshot.status == 200
            # matched items are watched for edits and deletions; unmatched ones are not
            assert review.recheck_until is not None and review.recheck_until > review.fetched_at
            assert items["City marathon draws record crowd"].recheck_until is None
            match = session.scalars(select(Match)).one()
            assert match.item_id == review.id and match.rule_id == "review.rejected.test"
            assert match.entities["persons"] == ["Behrouz Ehsani"]
            alert = session.scalars(select(Alert).where(Alert.kind == "event")).one()
            assert (alert.event_type, alert.severity, alert.subject) == ("review_rejected", "critical",
                                                                          "Behrouz Ehsani")
            delivery = session.scalars(select(Delivery).where(Delivery.alert_id == alert.id)).one()
            assert delivery.status == "sent" and delivery.channel == "inbox"
        assert len(server.inbox) == 1
        message = server.inbox[0]["payload"]
        assert "Behrouz Ehsani" in message["title"] + message["message"]

        again = run_round(app, app.config.sources)
        assert again.processing.items == 0 and again.dispatch.sent == []
        assert len(server.inbox) == 1
    finally:
        app.close()


def test_alert_and_deliveries_are_committed_with_the_match(tmp_config: Callable[..., Path],
                                                           site_server: Callable[[Path], SiteServer],
                                                           sqlite_url: str) -> None:
    """Before the dispatcher runs, the outbox already holds the delivery: nothing can be lost in between."""
    server = site_server(SITE)
    app = App.open(make_config(tmp_config, server, sqlite_url))
    try:
        from monitor.service.crawl_round import crawl_source

        crawl_source(app, app.config.sources[0])
        report = process_pending(app.database, app.rules, app.config)
        assert report.matches == 1 and len(report.alerts_new) == 1
        with app.database.read() as session:
            delivery = session.scalars(select(Delivery)).one()
            assert delivery.status == "pending" and delivery.alert_id == report.alerts_new[0]
            delivery_id = delivery.id
        assert server.inbox == []
        sent = dispatch_due(app.database, app.config)
        assert sent.sent == [delivery_id] and len(server.inbox) == 1
    finally:
        app.close()
