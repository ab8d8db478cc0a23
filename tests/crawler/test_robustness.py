"""Bad responses: errors, throttling, slow and huge bodies, bombs and garbage; failures stay per source."""

from __future__ import annotations

import socket
from datetime import timedelta

from config.loader import load_config
from storage.crawl_repo import unhealthy_sources
from storage.models import Source
from tests.crawler.conftest import CrawlEnv, items
from tests.crawler.pages import days_ago, rss
from tests.support.site import Reply, SeenRequest, SiteServer, big_body, garbage, gzip_bomb
from tests.support.socks import Socks5Proxy

GOOD = "/news/articles/execution-warning.html"


def feed_of(site: SiteServer, *paths: str) -> None:
    entries = [(p, p.rsplit("/", 1)[1], days_ago(1)) for p in paths]
    site.route("/feed.xml", rss(site.base, entries), content_type="application/rss+xml")


def test_bad_bodies_are_skipped_and_the_good_article_kept(site: SiteServer, env: CrawlEnv) -> None:
    site.routes["/big.html"] = big_body(50 * 1024 * 1024)
    site.routes["/bomb.html"] = gzip_bomb()
    site.routes["/garbage.html"] = garbage()
    site.route("/image.html", b"\x89PNG\r\n\x1a\n" + b"\0" * 500, content_type="text/html")
    site.route("/missing.html", b"gone", status=404)
    feed_of(site, GOOD, "/big.html", "/bomb.html", "/garbage.html", "/image.html", "/missing.html")
    env.sources({"id": "mixed", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("mixed")

    assert outcome.ok, outcome.error
    assert [i.url.rsplit("/", 1)[1] for i in items(env, "mixed")] == ["execution-warning.html"]
    assert outcome.stats["tocsin/skipped_binary"] == 2  # garbage bytes and a PNG, each with a reason
    assert outcome.stats["tocsin/article_errors"] == 3  # too big, bomb, 404
    assert "not a text page" in outcome.stats["tocsin/last_skip_reason"]
    log = env.log()
    assert "larger than download max size" in log and "exceeded DOWNLOAD_MAXSIZE (2097152 B) during decomp" in log


def test_retry_waits_for_retry_after(site: SiteServer, env: CrawlEnv) -> None:
    calls: list[SeenRequest] = []

    def throttled(request: SeenRequest) -> Reply:
        calls.append(request)
        if len(calls) == 1:
            return Reply(body=b"slow down", status=429, headers={"Retry-After": "1"})
        return Reply(body=(site_root_file(GOOD)))

    site.handle("/throttled.html", throttled)
    feed_of(site, "/throttled.html")
    env.sources({"id": "busy", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("busy")

    assert outcome.ok and len(outcome.new_item_ids) == 1
    assert len(calls) == 2 and calls[1].at - calls[0].at >= 1.0  # Scrapy alone retries at once


def test_retry_after_longer_than_the_cap_gives_up(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/throttled.html", b"no", status=429, headers={"Retry-After": "3600"})
    feed_of(site, GOOD, "/throttled.html")
    env.sources({"id": "busy", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("busy")

    assert outcome.ok and len(outcome.new_item_ids) == 1
    assert len(site.seen("/throttled.html")) == 1 and outcome.stats["tocsin/retry_after_too_long"] == 1


def test_server_errors_are_retried_with_backoff_then_given_up(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/feed.xml", b"oops", status=500)
    env.sources({"id": "broken", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("broken")

    assert outcome.status == "failed" and outcome.error == "the source answered HTTP 500"
    seen = site.seen("/feed.xml")
    assert len(seen) == 3  # first try + retries: 2 (settings.crawl.retries)
    # Backoff doubles from TOCSIN_RETRY_BACKOFF_BASE (0.05 s here): lower bounds only, which load cannot break.
    assert seen[1].at - seen[0].at >= 0.05 and seen[2].at - seen[1].at >= 0.1


def test_slow_endpoint_times_out_without_stopping_the_crawl(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/slow.html", site_root_file(GOOD), delay=2.5)
    feed_of(site, "/news/articles/report-june.html", "/slow.html")
    env.settings["crawl"] = {**env.settings["crawl"], "download_timeout": "1s", "retries": 0}
    env.sources({"id": "slow", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("slow")

    assert outcome.ok and len(outcome.new_item_ids) == 1
    assert outcome.stats["tocsin/article_errors"] == 1


def test_hung_crawl_is_killed_at_its_timeout(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/feed.xml", b"", delay=30)
    env.settings["crawl"] = {**env.settings["crawl"], "download_timeout": "60s"}
    env.sources({"id": "hung", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("hung", timeout=timedelta(seconds=4))

    assert outcome.status == "timeout"
    with env.database.read() as session:
        assert session.get_one(Source, "hung").consecutive_failures == 1


def test_robots_txt_is_obeyed_and_reported(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    feed_of(site, GOOD)
    env.sources({"id": "polite", "kind": "feed", "url": site.url("/feed.xml")})

    outcome = env.crawl("polite")

    assert outcome.status == "failed" and "robots.txt" in (outcome.error or "")
    assert site.seen("/feed.xml") == []


def test_a_dead_source_fails_alone_and_becomes_unhealthy(site: SiteServer, env: CrawlEnv) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/feed.xml"
    feed_of(site, GOOD)
    site.route("/empty.xml", rss(site.base, []), content_type="application/rss+xml")
    env.settings["crawl"] = {**env.settings["crawl"], "unhealthy_after": 2, "retries": 0}
    env.sources({"id": "dead", "kind": "feed", "url": dead_url},
                {"id": "alive", "kind": "feed", "url": site.url("/feed.xml")},
                {"id": "quiet", "kind": "feed", "url": site.url("/empty.xml")})
    threshold = load_config(env.config_dir).settings.crawl.unhealthy_after

    assert env.crawl("alive").ok
    for _ in range(2):
        assert env.crawl("dead").status == "failed"
        assert env.crawl("quiet").ok

    with env.database.read() as session:
        report = {h.source_id: h for h in unhealthy_sources(session, threshold)}
    assert set(report) == {"dead", "quiet"}
    assert report["dead"].problem == "failing" and "refused the connection" in (report["dead"].last_error or "")
    assert report["quiet"].problem == "empty" and "no items" in report["quiet"].description
    assert len(items(env, "alive")) == 1


def site_root_file(path: str) -> bytes:
    from tests.crawler.conftest import SITES

    return (SITES / path.lstrip("/")).read_bytes()


def test_source_proxy_socks5(site: SiteServer, env: CrawlEnv) -> None:
    feed_of(site, GOOD)
    with Socks5Proxy() as proxy:
        env.sources({"id": "via-tor", "kind": "feed", "url": site.url("/feed.xml"), "proxy": proxy.url})
        outcome = env.crawl("via-tor")
        connections = proxy.connections

    assert outcome.ok, (outcome.error, env.log()[-2000:])
    assert len(items(env, "via-tor")) == 1
    port = int(site.base.rsplit(":", 1)[1])
    assert ("127.0.0.1", port) in connections  # the feed and the article went through the proxy


def test_source_proxy_http(site: SiteServer, env: CrawlEnv) -> None:
    with SiteServer() as proxy:  # answers proxied requests ("GET http://host/path") from its own routes
        proxy.route("/feed.xml", rss(site.base, [(GOOD, "g", days_ago(1))]), content_type="application/rss+xml")
        proxy.route(GOOD, site_root_file(GOOD))
        env.sources({"id": "via-proxy", "kind": "feed", "url": site.url("/feed.xml"), "proxy": proxy.base})
        outcome = env.crawl("via-proxy")
        proxied = [r.path for r in proxy.requests]

    assert outcome.ok and len(items(env, "via-proxy")) == 1
    assert site.seen("/feed.xml") == [] and site.url("/feed.xml") in proxied
