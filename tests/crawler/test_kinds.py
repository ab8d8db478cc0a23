"""Every source kind, crawled for real (child process, Scrapy, SQLite file) against the local site."""

from __future__ import annotations

from config.sources import SOURCE_KINDS
from crawler.spiders import SPIDERS
from storage.models import Source
from tests.crawler.conftest import SITES, CrawlEnv, items
from tests.crawler.pages import Post, days_ago, listing, news_sitemap, rss, sitemap_index, telegram_page
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


def test_feed_is_incremental_and_conditional(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/feed.xml", rss(site.base, ARTICLES[:2]), content_type="application/rss+xml")
    env.sources({"id": "rights", "kind": "feed", "url": site.url("/feed.xml")})
    assert env.crawl("rights").ok

    unchanged = env.crawl("rights")  # same feed: the server answers 304 to our validators
    assert unchanged.ok and unchanged.new_item_ids == []
    assert site.seen("/feed.xml")[-1].headers.get("If-None-Match")
    assert unchanged.stats.get("tocsin/not_modified") == 1

    site.route("/feed.xml", rss(site.base, ARTICLES), content_type="application/rss+xml")
    grown = env.crawl("rights")
    assert grown.ok and len(grown.new_item_ids) == 1
    assert len(site.seen("/news/articles/execution-warning.html")) == 1  # known articles not refetched
    assert len(site.seen("/news/articles/report-june.html")) == 1
    with env.database.read() as session:
        source = session.get_one(Source, "rights")
        assert source.consecutive_empty_runs == 0  # a 304 is not an empty run


def test_sitemap_index_bounded_by_lastmod(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/sitemap.xml", sitemap_index(site.base, [("/sitemap-news.xml", days_ago(0.1)),
                                                        ("/sitemap-2019.xml", days_ago(2000))]),
               content_type="application/xml")
    urls = [(path, title, when) for path, title, when in ARTICLES]
    urls.append(("/news/articles/ancient.html", "Old news", days_ago(30)))
    site.route("/sitemap-news.xml", news_sitemap(site.base, urls), content_type="application/xml")
    env.sources({"id": "maps", "kind": "sitemap", "url": site.url("/sitemap.xml"), "max_age": "7d",
                 "url_pattern": "/articles/"})

    outcome = env.crawl("maps")

    assert outcome.ok, outcome.error
    assert [i.url.rsplit("/", 1)[1] for i in items(env, "maps")] == [
        "execution-warning.html", "families-protest.html", "report-june.html"]
    assert site.seen("/sitemap-2019.xml") == [] and site.seen("/news/articles/ancient.html") == []
    assert next(i for i in items(env, "maps") if "report" in i.url).title == "Monthly report: executions in June"


def test_listing_paginates_and_decodes_persian(site: SiteServer, env: CrawlEnv) -> None:
    raw = (SITES / "news" / "fa" / "cp1256.html").read_bytes()
    site.route("/fa/news/legacy.html", raw, content_type="text/html; charset=utf-8")  # a lying label
    site.route("/fa/index.html", listing([("/news/fa/utf8.html", "انتقال"), ("/fa/news/legacy.html", "قدیمی")],
                                         next_href="/fa/index.html?page=2"))
    site.route("/fa/index.html?page=2", listing([("/news/articles/report-june.html", "گزارش")],
                                                next_href="/fa/index.html?page=3"))
    site.route("/fa/index.html?page=3", listing([("/news/articles/families-protest.html", "x")]))
    env.sources({"id": "state-fa", "kind": "listing", "url": site.url("/fa/index.html"), "lang": "fa",
                 "link_selector": "a.news-link", "next_selector": "a.next", "max_pages": 2})

    outcome = env.crawl("state-fa")

    assert outcome.ok, outcome.error
    stored = {i.url.rsplit("/", 1)[1]: i for i in items(env, "state-fa")}
    assert set(stored) == {"utf8.html", "legacy.html", "report-june.html"}
    assert site.seen("/fa/index.html?page=3") == []
    assert "قزلحصار" in stored["utf8.html"].text and stored["utf8.html"].published_at is not None
    legacy = stored["legacy.html"]
    assert "زنداني سياسي" in legacy.text and "\ufffd" not in legacy.text  # Arabic ي kept as published
    assert legacy.details["encoding"] == "cp1256" and "decode_note" in legacy.details
    assert legacy.snapshot is not None and legacy.snapshot.sha256


def test_encoding_override_for_unlabelled_legacy_pages(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/legacy/1.html", (SITES / "news" / "fa" / "cp1256-nometa.html").read_bytes(),
               content_type="text/html")
    site.route("/legacy/", listing([("/legacy/1.html", "x")]))
    env.sources({"id": "legacy", "kind": "listing", "url": site.url("/legacy/"), "link_selector": "a.news-link",
                 "encoding": "windows-1256", "selectors": {"text": "div.news-text", "title": "h1.title"}})

    assert env.crawl("legacy").ok
    (item,) = items(env, "legacy")
    assert item.title == "انتقال زنداني سياسي به سلول انفرادي"
    assert item.text.startswith("يك زنداني سياسي") and "اخبار مرتبط" not in item.text


def test_telegram_channel_paging_edits_and_media(site: SiteServer, env: CrawlEnv) -> None:
    first = [Post(105, "اعدام یک زندانی در زندان قزلحصار"), Post(104, "second post", links=["https://example.org/r"]),
             Post(103, "forwarded report", forwarded_from="HRANA"), Post(102, "", media_only=True)]
    site.route("/t/s/irhrs", telegram_page("irhrs", first, before=102))
    site.route("/t/s/irhrs?before=102", telegram_page("irhrs", [Post(101, "older"), Post(100, "oldest")], 100))
    # Telegram answering with the same cursor again (deleted posts): paging must stop, not loop.
    site.route("/t/s/irhrs?before=100", telegram_page("irhrs", [Post(99, "older still")], before=100))
    env.sources({"id": "tg", "kind": "telegram", "url": site.url("/t/s/irhrs"), "max_pages": 10})

    outcome = env.crawl("tg")

    assert outcome.ok, outcome.error
    stored = {i.external_id: i for i in items(env, "tg")}
    assert set(stored) == {"irhrs/105", "irhrs/104", "irhrs/103", "irhrs/101", "irhrs/100", "irhrs/99"}
    assert stored["irhrs/105"].url == "https://t.me/irhrs/105"
    assert stored["irhrs/105"].published_at is not None
    assert stored["irhrs/104"].details["links"] == ["https://example.org/r"]
    assert stored["irhrs/103"].details["forwarded_from"] == "HRANA"
    assert outcome.stats["tocsin/telegram_media_only"] == 1
    assert len(site.seen("/t/s/irhrs?before=100")) == 1

    first[1] = Post(104, "second post, edited", edited=True)
    site.route("/t/s/irhrs", telegram_page("irhrs", [Post(106, "new"), *first], before=102))
    again = env.crawl("tg")
    assert again.ok and len(again.new_item_ids) == 1 and len(again.updated_item_ids) == 1
    edited = next(i for i in items(env, "tg") if i.external_id == "irhrs/104")
    assert edited.version == 2 and edited.text == "second post, edited"
    assert len(site.seen("/t/s/irhrs?before=102")) == 1  # stopped at the posts already stored


def test_telegram_channel_without_public_preview_fails(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/t/s/private", b"", status=302, headers={"Location": "/t/private"})
    site.route("/t/private", "<html><body>Join channel</body></html>")
    env.sources({"id": "tg", "kind": "telegram", "url": site.url("/t/s/private")})

    outcome = env.crawl("tg")

    assert outcome.status == "failed" and "public preview" in (outcome.error or "")


def test_page_watch_stores_each_change_as_a_version(site: SiteServer, env: CrawlEnv) -> None:
    def page(statements: list[str]) -> str:
        rows = "".join(f"<li>{s}</li>" for s in statements)
        return (f"<html><body><div class='clock'>12:00</div><ul id='statements'>{rows}</ul>"
                "<footer>footer</footer></body></html>")

    site.route("/un/statements.html", page(["Iran: UN experts alarmed by execution surge"]))
    env.sources({"id": "ohchr", "kind": "page", "url": site.url("/un/statements.html"),
                 "selectors": {"text": "ul#statements"}})
    assert env.crawl("ohchr").ok
    assert env.crawl("ohchr").stats.get("tocsin/not_modified") == 1

    site.route("/un/statements.html", page(["Iran: halt imminent execution of protester",
                                            "Iran: UN experts alarmed by execution surge"]))
    changed = env.crawl("ohchr")

    assert changed.ok and len(changed.updated_item_ids) == 1
    (item,) = items(env, "ohchr")
    assert item.version == 2 and item.text.startswith("Iran: halt imminent execution")
    assert "+Iran: halt imminent execution of protester" in (item.versions[0].diff or "")
    assert "12:00" not in item.text
