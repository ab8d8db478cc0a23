"""Every source kind, crawled for real (child process, Scrapy, SQLite file) against the local site."""

from __future__ import annotations

from config.sources import SOURCE_KINDS
from crawler.spiders import SPIDERS
from storage.models import Source
from tests.crawler.conftest import CrawlEnv, items
from tests.crawler.pages import days_ago, rss
from tests.support.site import SiteServer

ARTICLES = [
    ("/news/articles/execution-warning.html", "Political prisoner transferred", days_ago(1)),
    ("/news/articles/families-protest.html", "Families gather", days_ago(2)),
    ("/news/articles/report-june.html", "Monthly report", days_ago(3)),
]




def test_every_source_kind_has_a_spider() -> None:
    assert set(SOURCE_KINDS) <= set(SPIDERS)
    for kind, spider in SPIDERS.items():
        assert spider.kind == kind


def test_feed_entries_are_followed_to_their_articles(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/feed.xml", rss(site.base, ARTICLES), content_type="application/rss+xml")
    env.sources({"id": "rights", "kind": "feed", "url": site.url("/feed.xml"), "tags": ["human_rights"]})

    outcome = env.crawl("rights")

    assert outcome.ok, (outcome.error, env.log()[-3000:])
    stored = items(env, "rights")
    assert len(stored) == 3 == len(outcome.new_item_ids)
    warning = next(i for i in stored if i.url.endswith("execution-warning.html"))
    assert warning.title == "Political prisoner transferred to solitary confinement ahead of execution"
    assert "Ghezel Hesar" in warning.text and "Free all political prisoners" not in warning.text
    assert warning.lang == "en" and warning.published_at is not None
    assert warning.snapshot is not None
    with env.database.read() as session:
        source = session.get_one(Source, "rights")
        assert source.last_item_count == 3 and source.consecutive_failures == 0
