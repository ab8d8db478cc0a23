"""By hand, through the command line: ``tocsin crawl`` then ``tocsin crawl --recheck`` raises the removal alert,
and ``tocsin evidence export --alert ID`` writes the last good version and the response that showed it gone.

Real parts on loopback (a local news site, crawl and re-check child processes, a SQLite file, an Apprise
``json://`` channel posting to a local inbox); the site and rules are those of ``test_removal_alerts``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result
from warcio.archiveiterator import ArchiveIterator

from monitor.cli import app as cli
from monitor.demo.server import SiteServer as Inbox
from tests.alerts.test_removals import ARTICLE, HOSTILE_TITLE, RULES, article_page
from tests.crawler.pages import days_ago, rss
from tests.support.site import SiteServer

runner = CliRunner()
STORY = "Two prisoners were executed at dawn in Ghezel Hesar."


@dataclass
class Setup:
    config: Path
    site: SiteServer
    inbox: Inbox

    def tocsin(self, *args: str) -> Result:
        return runner.invoke(cli, [*args, "--config", str(self.config)])

    def tocsin_json(self, *args: str, exit_code: int = 0) -> Any:
        result = self.tocsin(*args, "--json")
        assert result.exit_code == exit_code, result.output
        return json.loads(result.output)

    def messages(self) -> list[str]:
        return [f"{e['payload']['title']}\n{e['payload']['message']}" for e in self.inbox.inbox]


@pytest.fixture
def setup(tmp_config: Callable[..., Path], tmp_path: Path) -> Iterator[Setup]:
    (tmp_path / "inbox").mkdir()
    with SiteServer() as site:
        inbox = Inbox(tmp_path / "inbox").start()
        site.route(ARTICLE, article_page(HOSTILE_TITLE, STORY))
        site.route("/feed.xml", rss(site.base, [(ARTICLE, "Prisoners executed", days_ago(1))]),
                   content_type="application/rss+xml")
        config = tmp_config(
            settings={"crawl": {"autothrottle": False, "obey_robots": False, "retries": 0,
                                "download_timeout": "2s"},
                      "channels": {"inbox": {"url": f"json://127.0.0.1:{inbox.port}/inbox"}}},
            sources=[{"id": "irna", "kind": "feed", "name": "IRNA", "url": site.url("/feed.xml"), "lang": "en",
                      "tags": ["state_media"]}],
            rules=RULES, watchlists={},
        )
        try:
            yield Setup(config, site, inbox)
        finally:
            inbox.stop()


def read_warc(path: Path) -> list[tuple[str, str | None, bytes]]:
    """(record type, HTTP status of a response, payload) of every record; digests verified as it reads."""
    with path.open("rb") as stream:
        return [(r.rec_type, r.http_headers.get_statuscode() if r.rec_type == "response" else None,
                 r.content_stream().read()) for r in ArchiveIterator(stream, check_digests="raise")]


@pytest.mark.parametrize(("reply", "status", "reason"), [
    ({"body": b"<html><body>Not found</body></html>", "status": 404}, "404", "HTTP 404 Not Found"),
    ({"body": b"", "status": 302, "headers": {"Location": "/"}}, "302", "redirected to the home page"),
], ids=["404", "redirect-home"])
def test_crawl_recheck_raises_the_removal_alert_and_the_alert_exports_both_responses(
        setup: Setup, tmp_path: Path, reply: dict[str, Any], status: str, reason: str) -> None:
    first = setup.tocsin_json("crawl")
    assert first["recheck"] is None and len(first["alerts_new"]) == 1 and first["removal_alerts"] == []
    [item] = setup.tocsin_json("items", "list")
    setup.site.route(ARTICLE, **reply)

    plain = setup.tocsin("crawl")  # without --recheck, a deleted article goes unnoticed
    assert plain.exit_code == 0, plain.output
    assert "re-check" not in plain.output and len(setup.messages()) == 1
    summary = setup.tocsin_json("crawl", "--recheck")

    assert summary["recheck"]["status"] == "ok" and summary["recheck"]["removed"] == [item["id"]]
    [alert_id] = summary["removal_alerts"]
    assert summary["deliveries_sent"] == 1
    message = setup.messages()[-1]
    assert "[WARNING] article_removed: IRNA" in message
    assert setup.site.url(ARTICLE) in message and reason in message and "removed 20" in message

    out = tmp_path / "removed.warc.gz"
    export = setup.tocsin_json("evidence", "export", "--alert", str(alert_id), "-o", str(out))
    assert (export["items"], export["responses"], export["skipped"]) == (1, 2, [])
    records = read_warc(out)
    assert [r[0] for r in records] == ["warcinfo"] + ["request", "response", "metadata"] * 2
    (good, good_status), (gone, gone_status) = [(r[2], r[1]) for r in records if r[0] == "response"]
    assert good_status == "200" and STORY.encode() in good
    assert gone_status == status and gone == reply["body"]
    roles = [json.loads(r[2])["role"] for r in records if r[0] == "metadata"]
    assert roles == ["version 1 (current)", "removal"]
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(out)], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr

    # the alert lists the removed article as its one source, in the listing and in the details
    listed = {a["id"]: a for a in setup.tocsin_json("alerts", "list")}
    assert listed[alert_id]["event"] == "article_removed" and listed[alert_id]["sources"] == 1
    shown = setup.tocsin_json("alerts", "show", str(alert_id))
    assert shown["sources"] == 1
    [row] = shown["items"]
    assert row["item"] == item["id"] and row["url"] == setup.site.url(ARTICLE) and reason in row["removal_reason"]
    words = setup.tocsin("alerts", "show", str(alert_id))
    printed = " ".join(words.output.split())
    assert words.exit_code == 0 and "• IRNA: " in printed and reason in printed and "rule None" not in printed
    assert printed.startswith(f"#{alert_id} WARNING removal article_removed ") and "[bold]" not in printed


def test_crawl_recheck_reports_in_words_and_a_second_run_raises_nothing(setup: Setup) -> None:
    assert setup.tocsin("crawl").exit_code == 0
    setup.site.route(ARTICLE, b"gone", status=410)

    result = setup.tocsin("crawl", "--recheck")

    assert result.exit_code == 0, result.output
    assert "re-check: ok, 1 matched article(s) fetched again, 0 edited, 1 removed" in result.output
    assert "1 removal alerts" in result.output
    again = setup.tocsin_json("crawl", "--recheck")
    assert again["recheck"]["checked"] == 0 and again["removal_alerts"] == []  # a removed article is done
    assert len(setup.messages()) == 2


def test_crawl_recheck_rechecks_an_edit_and_matches_it_again_in_the_same_run(setup: Setup) -> None:
    assert setup.tocsin("crawl").exit_code == 0
    setup.site.route(ARTICLE, article_page(HOSTILE_TITLE, STORY + " A third prisoner was executed at noon."))

    summary = setup.tocsin_json("crawl", "--recheck")

    [item] = setup.tocsin_json("items", "list")
    assert summary["recheck"]["edited"] == [item["id"]] and summary["recheck"]["removed"] == []
    assert summary["items_matched"] == 1 and summary["removal_alerts"] == []


def test_crawl_recheck_with_every_source_disabled_still_rechecks(setup: Setup) -> None:
    assert setup.tocsin("crawl").exit_code == 0
    sources = setup.config / "sources.yaml"
    listed = yaml.safe_load(sources.read_text(encoding="utf-8"))
    listed["sources"][0]["enabled"] = False
    sources.write_text(yaml.safe_dump(listed), encoding="utf-8")
    setup.site.route(ARTICLE, b"gone", status=404)

    nothing = setup.tocsin("crawl")
    assert nothing.exit_code != 0 and "no enabled sources" in nothing.output
    summary = setup.tocsin_json("crawl", "--recheck")

    assert summary["crawls"] == [] and len(summary["recheck"]["removed"]) == 1
    assert len(summary["removal_alerts"]) == 1
