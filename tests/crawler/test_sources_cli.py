"""``tocsin sources list|status``: what is configured and how each source is doing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from monitor.cli import app as cli
from tests.crawler.conftest import CrawlEnv
from tests.crawler.pages import days_ago, rss
from tests.support.site import SiteServer


def test_status_reports_healthy_failing_and_never_run_sources(site: SiteServer, env: CrawlEnv) -> None:
    site.route("/feed.xml", rss(site.base, [("/news/articles/report-june.html", "r", days_ago(1))]),
               content_type="application/rss+xml")
    site.route("/broken.xml", b"down", status=503)
    env.settings["crawl"] = {**env.settings["crawl"], "unhealthy_after": 1, "retries": 0}
    env.sources({"id": "good", "kind": "feed", "url": site.url("/feed.xml")},
                {"id": "bad", "kind": "feed", "url": site.url("/broken.xml"), "name": "[bold]Bad[/bold]"},
                {"id": "new", "kind": "feed", "url": site.url("/feed.xml")},
                {"id": "off", "kind": "feed", "url": site.url("/feed.xml"), "enabled": False,
                 "note": "structure not verified"})
    assert env.crawl("good").ok and env.crawl("bad").status == "failed"
    runner = CliRunner()
    args = ["--config", str(env.config_dir)]
    env_vars = {"TOCSIN_DATABASE_URL": env.database.url, "COLUMNS": "200"}

    table = runner.invoke(cli, ["sources", "status", *args], env=env_vars)
    as_json = runner.invoke(cli, ["sources", "status", "--json", *args], env=env_vars)

    assert table.exit_code == 0, table.output
    assert "1 source(s) not ok for 1 run in a row (the operator is alerted): bad" in table.output
    assert "HTTP 503" in table.output
    rows = {row["id"]: row for row in json.loads(as_json.output)}
    assert {k: rows[k]["state"] for k in rows} == {"good": "ok", "bad": "failing", "new": "never run",
                                                    "off": "disabled"}
    assert rows["good"]["items_last_run"] == 1 and rows["bad"]["consecutive_failures"] == 1

    listed = runner.invoke(cli, ["sources", "list", *args], env=env_vars)
    assert listed.exit_code == 0 and "structure not verified" in listed.output


def test_shipped_catalogue_is_valid_and_documents_what_is_disabled() -> None:
    from config.loader import DEFAULTS_DIR, load_config

    sources = load_config(DEFAULTS_DIR).sources
    tags = {tag for s in sources for tag in s.tags}
    assert {"human_rights", "state_media", "judiciary", "un"} <= tags
    assert {s.lang for s in sources} == {"en", "fa"}
    assert all(s.note for s in sources if not s.enabled)  # every disabled source says what to check
    assert all(s.schedule.interval for s in sources)


def test_sources_list_shows_every_id_whole_at_80_columns() -> None:
    from config.loader import DEFAULTS_DIR, load_config

    ids = [s.id for s in load_config(DEFAULTS_DIR).sources]
    result = CliRunner().invoke(cli, ["sources", "list", "--config", str(DEFAULTS_DIR)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    cells = {cell.strip() for line in result.output.splitlines() for cell in line.split("│")}
    assert set(ids) <= cells  # each id whole in its cell, as `--source` needs it
