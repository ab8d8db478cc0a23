"""Evidence export: a WARC that warcio reads back and verifies, with every kept response of an item."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from crawler.evidence import export_items
from monitor.cli import app as cli
from storage.models import Alert, Match
from tests.crawler.conftest import CrawlEnv, items
from tests.crawler.pages import days_ago, rss
from tests.crawler.test_recheck import article, mark_matched
from tests.support.site import SiteServer


def crawl_edit_and_delete(site: SiteServer, env: CrawlEnv) -> int:
    """One article stored, edited (version 2), then deleted (404): three responses kept."""
    site.route("/news/1.html", article("Hanged at dawn", "Version one of the report."),
               headers={"X-Custom": "kept", "Set-Cookie": "a=1"})
    site.route("/feed.xml", rss(site.base, [("/news/1.html", "Hanged", days_ago(1))]),
               content_type="application/rss+xml")
    env.sources({"id": "state", "kind": "feed", "url": site.url("/feed.xml")})
    assert env.crawl("state").ok
    (item,) = items(env)
    mark_matched(env, [item.id])
    site.route("/news/1.html", article("Hanged at dawn", "Version two, with the names removed."))
    assert env.recheck().updated_item_ids == [item.id]
    with env.database.write() as session:  # let the next re-check run at once
        session.get_one(type(item), item.id).checked_at = None
    site.route("/news/1.html", b"<html><body>Not found</body></html>", status=404)
    assert env.recheck().removed_item_ids == [item.id]
    return item.id


def read_warc(path: Path) -> list[tuple[str, str, bytes, dict[str, str], str | None]]:
    records = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests="raise"):
            headers = dict(record.http_headers.headers) if record.http_headers else {}
            status = record.http_headers.get_statuscode() if record.rec_type == "response" else None
            records.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI") or "",
                            record.content_stream().read(), headers, status))
    return records


def test_warc_holds_every_version_and_the_removal(site: SiteServer, env: CrawlEnv, tmp_path: Path) -> None:
    item_id = crawl_edit_and_delete(site, env)
    out = tmp_path / "evidence.warc.gz"

    with env.database.read() as session:
        report = export_items(session, [item_id], out)

    assert report.items == 1 and report.responses == 3 and report.skipped == []
    records = read_warc(out)
    assert [r[0] for r in records] == ["warcinfo"] + ["request", "response", "metadata"] * 3
    responses = [r for r in records if r[0] == "response"]
    assert [r[4] for r in responses] == ["200", "200", "404"]
    assert b"Version one" in responses[0][2] and b"Version two" in responses[1][2]
    assert responses[0][3]["X-Custom"] == "kept" and responses[0][3]["Content-Length"] == str(len(responses[0][2]))
    assert all(r[1] == site.url("/news/1.html") for r in responses)
    roles = [json.loads(r[2])["role"] for r in records if r[0] == "metadata"]
    assert roles == ["version 1", "version 2 (current)", "removal"]
    with env.database.read() as session:
        stored = session.get_one(Match, 1).item.snapshot
        assert stored is not None and hashlib.sha256(responses[1][2]).hexdigest() == stored.sha256
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    # The same through the command line, by item and by the alert the item fed.
    with env.database.write() as session:
        alert = Alert(dedup_key="k", event_type="execution", severity="critical", title="t")
        session.add(alert)
        session.flush()
        session.get_one(Match, 1).alert_id = alert.id
    runner = CliRunner()
    args = ["--config", str(env.config_dir)]
    env_vars = {"TOCSIN_DATABASE_URL": env.database.url}

    by_item = runner.invoke(cli, ["evidence", "export", str(item_id), "-o", str(tmp_path / "a.warc.gz"), *args],
                            env=env_vars)
    by_alert = runner.invoke(cli, ["evidence", "export", "--alert", "1", "-o", str(tmp_path / "b.warc.gz"), *args],
                             env=env_vars)
    unknown = runner.invoke(cli, ["evidence", "export", "999", "-o", str(tmp_path / "c.warc.gz"), *args],
                            env=env_vars)

    assert by_item.exit_code == 0, by_item.output
    assert "wrote 3 response(s) for 1 item(s)" in by_item.output
    assert by_alert.exit_code == 0 and len(read_warc(tmp_path / "b.warc.gz")) == 10
    assert unknown.exit_code == 2 and "no item with id 999" in unknown.output
