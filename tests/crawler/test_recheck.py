"""Edits and deletions of matched items, re-checked in a child process against the local site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from crawler.recheck import is_home_page, judge
from storage.models import Item, Match
from tests.crawler.conftest import CrawlEnv, items
from tests.crawler.pages import Post, days_ago, rss, telegram_page
from tests.support.site import SiteServer

CASES = yaml.safe_load((Path(__file__).parent / "data" / "recheck_cases.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_judge(case: dict[str, Any]) -> None:
    verdict = judge(case["status"], url="https://news.example/news/1.html", location=case.get("location"),
                    source_url=case.get("source_url", "https://news.example/feed.xml"))
    assert verdict.outcome == case["outcome"], verdict.reason


def test_home_page_of_a_site_is_not_an_article() -> None:
    assert is_home_page("https://x.example/") and is_home_page("https://x.example/en")
    assert not is_home_page("https://x.example/en/news/1")


def article(title: str, body: str) -> str:
    return (f"<html lang='en'><head><title>{title}</title></head><body><nav>Home News About</nav>"
            f"<article><h1>{title}</h1><p>{body}</p><p>{body} The family was not informed.</p></article>"
            "<footer>(c) site</footer></body></html>")


def mark_matched(env: CrawlEnv, item_ids: list[int]) -> None:
    """What the rules engine does when an item matches (monitor.alerts.matching)."""
    with env.database.write() as session:
        for item_id in item_ids:
            session.get_one(Item, item_id).matched_version = 1
            session.add(Match(item_id=item_id, item_version=1, rule_id="executions", event_type="execution",
                              severity="critical"))


NAMES = ["edited", "deleted", "failing", "to-home", "moved", "unmatched"]


def test_edits_and_deletions_of_matched_items(site: SiteServer, env: CrawlEnv) -> None:
    for name in NAMES:
        site.route(f"/news/{name}.html", article(f"Prisoner {name} at risk", f"Report {name} on the death row."))
    site.route("/feed.xml", rss(site.base, [(f"/news/{n}.html", n, days_ago(1)) for n in NAMES]),
               content_type="application/rss+xml")
    env.sources({"id": "state", "kind": "feed", "url": site.url("/feed.xml"), "tags": ["state_media"]})
    assert env.crawl("state").ok
    by_name = {i.url.rsplit("/", 1)[1][:-5]: i.id for i in items(env)}
    mark_matched(env, [by_name[n] for n in NAMES if n != "unmatched"])

    site.route("/news/edited.html", article("Prisoner edited at risk", "The sentence was carried out at dawn."))
    site.route("/news/deleted.html", b"gone", status=410)
    site.route("/news/failing.html", b"oops", status=500)
    site.route("/news/to-home.html", b"", status=302, headers={"Location": "/"})
    site.route("/news/moved.html", b"", status=301, headers={"Location": "/news/2025/moved-story.html"})
    site.route("/news/2025/moved-story.html", article("Prisoner moved at risk", "Report moved on the death row."))

    outcome = env.recheck()

    assert outcome.status == "ok" and outcome.checked == 5
    assert outcome.updated_item_ids == [by_name["edited"]]
    assert sorted(outcome.removed_item_ids) == sorted([by_name["deleted"], by_name["to-home"]])
    stored = {i.id: i for i in items(env)}
    edited = stored[by_name["edited"]]
    assert edited.version == 2 and "carried out at dawn" in edited.text
    assert "+The sentence was carried out at dawn." in (edited.versions[0].diff or "")
    deleted = stored[by_name["deleted"]]
    assert deleted.status == "removed" and deleted.removal_reason == "HTTP 410 Gone"
    assert isinstance(deleted.details.get("removal_snapshot_id"), int)
    assert stored[by_name["to-home"]].removal_reason.startswith("redirected to the home page")
    for name in ("failing", "moved"):  # a 500 is not a removal; a real move is followed
        assert stored[by_name[name]].status == "active" and stored[by_name[name]].version == 1
        assert stored[by_name[name]].checked_at is not None
    assert len(site.seen("/news/unmatched.html")) == 1  # never re-checked: it matched nothing

    assert env.recheck().checked == 0  # checked an hour ago at most: not due yet


def test_deleted_telegram_post_is_detected(site: SiteServer, env: CrawlEnv) -> None:
    posts = [Post(105, "newest"), Post(104, "execution announced"), Post(103, "trial report")]
    site.route("/t/s/chan", telegram_page("chan", posts, before=None))
    env.sources({"id": "tg", "kind": "telegram", "url": site.url("/t/s/chan")})
    assert env.crawl("tg").ok
    ids = {i.external_id: i.id for i in items(env)}
    mark_matched(env, [ids["chan/104"], ids["chan/103"]])
    # The post is gone from around its place in the channel; the other one was edited.
    site.route("/t/s/chan?before=105", telegram_page("chan", [Post(103, "trial report, updated")], None))
    site.route("/t/s/chan?before=104", telegram_page("chan", [Post(103, "trial report, updated")], None))

    outcome = env.recheck()

    assert outcome.removed_item_ids == [ids["chan/104"]]
    assert outcome.updated_item_ids == [ids["chan/103"]]
    stored = {i.external_id: i for i in items(env)}
    assert stored["chan/104"].removal_reason == "post chan/104 deleted from the channel"
    assert stored["chan/103"].text == "trial report, updated"
