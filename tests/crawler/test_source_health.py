"""Honest source health through the CLI: a feed whose articles fail is ``degraded`` with the reasons and
counts, a source that never succeeded is ``failing``, the operator is alerted after N degraded runs, and a
refused connection or an unresolvable host fails fast with one line naming the host and the cause.

Real parts: ``tocsin crawl`` (child processes) against a loopback site, a SQLite file, ``tocsin sources
status`` and ``tocsin alerts list`` reading it. Hosts under ``.invalid`` never resolve (RFC 6761): the
resolver answers for them without a query leaving the machine.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner, Result

from monitor.cli import app as cli
from storage.models import CrawlRun
from tests.crawler.conftest import CrawlEnv
from tests.crawler.pages import days_ago, rss
from tests.support.site import Reply, SiteServer, big_body, garbage, gzip_bomb

GOOD = "/news/articles/execution-warning.html"
runner = CliRunner()


def tocsin(env: CrawlEnv, *args: str) -> Result:
    return runner.invoke(cli, [*args, "--config", str(env.config_dir)],
                         env={"TOCSIN_DATABASE_URL": env.database.url, "COLUMNS": "200"})


def status(env: CrawlEnv) -> dict[str, dict[str, Any]]:
    result = tocsin(env, "sources", "status", "--json")
    assert result.exit_code == 0, result.output
    return {row["id"]: row for row in json.loads(result.stdout)}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli_settings(env: CrawlEnv, **crawl: Any) -> None:
    env.settings = {**env.settings, "crawl": {**env.settings["crawl"], "retries": 0, "obey_robots": False,
                                              "download_timeout": "1s", "max_response_size": "1MiB",
                                              "unhealthy_after": 2, **crawl},
                    "data_dir": str(env.root / "data")}


def test_a_feed_whose_articles_fail_is_degraded_with_reasons_and_the_operator_hears_after_n_runs(
    site: SiteServer, env: CrawlEnv
) -> None:
    site.routes["/big.html"] = big_body(5 * 1024 * 1024)
    site.routes["/bomb.html"] = gzip_bomb()
    site.routes["/garbage.html"] = garbage()
    site.route("/missing.html", b"gone", status=404)
    site.routes["/slow.html"] = Reply(body=b"<html><body><p>late</p></body></html>", delay=3.0)
    paths = ["/big.html", "/bomb.html", "/garbage.html", "/missing.html", "/slow.html"]
    site.route("/feed.xml", rss(site.base, [(p, p[1:], days_ago(1)) for p in paths]),
               content_type="application/rss+xml")
    cli_settings(env)
    env.sources({"id": "feed", "kind": "feed", "url": site.url("/feed.xml")})

    crawled = tocsin(env, "crawl", "--source", "feed")
    assert crawled.exit_code == 0, crawled.output
    assert "feed: degraded 0 new, 0 updated — 5 of 5 articles failed: " in crawled.stdout
    row = status(env)["feed"]
    assert row["state"] == "degraded" and row["articles_failed"] == 5 and row["articles_requested"] == 5
    reasons = row["article_failures"]
    assert reasons["HTTP 404 Not Found"] == 1
    assert reasons["not a text page (binary or unreadable body)"] == 1
    assert reasons["no answer from 127.0.0.1 within 1s (crawl.download_timeout)"] == 1
    over = [why for why in reasons if "over the size limit of 1 MiB (crawl.max_response_size)" in why]
    assert sum(reasons[why] for why in over) == 2  # the 5 MiB body and the gzip bomb
    assert row["problem"].startswith("5 of 5 articles failed in the last run: ")
    table = tocsin(env, "sources", "status").stdout
    assert "degraded" in table and "HTTP 404 Not Found ×1" in table
    log = (env.root / "data" / "logs" / "crawl.log").read_text(encoding="utf-8")
    assert "article fetch failed: " in log and "article fetch failed: \n" not in log
    assert f"article fetch failed: {site.url('/big.html')}: 127.0.0.1: the response is over the size limit" in log

    listed = json.loads(tocsin(env, "alerts", "list", "--json").stdout)
    assert [a for a in listed if a["kind"] == "operator"] == []  # one degraded run: no alert yet
    assert tocsin(env, "crawl", "--source", "feed").exit_code == 0
    assert status(env)["feed"]["consecutive_degraded_runs"] == 2
    operator = [a for a in json.loads(tocsin(env, "alerts", "list", "--json").stdout) if a["kind"] == "operator"]
    assert [a["title"] for a in operator] == ["Source feed is degraded"]
    shown = tocsin(env, "alerts", "show", str(operator[0]["id"]))
    assert "5 of 5 articles failed in the last run (2 runs in a row): " in " ".join(shown.stdout.split())

    site.route("/feed.xml", rss(site.base, [(GOOD, "good", days_ago(1))]), content_type="application/rss+xml")
    assert tocsin(env, "crawl", "--source", "feed").exit_code == 0
    recovered = status(env)["feed"]
    assert recovered["state"] == "ok" and recovered["problem"] is None and recovered["article_failures"] == {}


def requests_made(env: CrawlEnv, source_id: str) -> int:
    with env.database.read() as session:
        run = session.scalars(select(CrawlRun).where(CrawlRun.source_id == source_id)
                              .order_by(CrawlRun.id.desc())).first()
        assert run is not None
        return int(run.stats.get("downloader/request_count", 0))


def test_refused_and_unresolvable_sources_fail_fast_with_one_line_and_never_succeeded_is_failing(
    env: CrawlEnv
) -> None:
    port = closed_port()
    cli_settings(env, retries=3)  # retries are for transient errors, not these
    env.sources({"id": "refused", "kind": "feed", "url": f"http://127.0.0.1:{port}/feed.xml"},
                {"id": "nowhere", "kind": "feed", "url": "http://news.tocsin-test.invalid/feed.xml"})

    crawled = tocsin(env, "crawl", "--json")
    assert crawled.exit_code == 1
    errors = {c["source"]: c["error"] for c in json.loads(crawled.stdout)["crawls"]}
    assert errors == {
        "refused": f"127.0.0.1:{port} refused the connection (nothing listening there, or a firewall)",
        "nowhere": "DNS lookup failed for news.tocsin-test.invalid: no such host (or no network)",
    }
    assert requests_made(env, "refused") == 1 and requests_made(env, "nowhere") == 1  # no retry storm

    rows = status(env)
    for source_id in ("refused", "nowhere"):
        assert rows[source_id]["state"] == "failing"
        assert rows[source_id]["problem"].startswith("has never crawled successfully (1 failed run;")
        assert errors[source_id] in rows[source_id]["problem"]
    log = (env.root / "data" / "logs" / "crawl.log").read_text(encoding="utf-8")
    assert "Traceback" not in log and "DownloadConnectionRefusedError" not in crawled.stdout
