"""The foundation's CLI: init, config check, crawl (one failing source never stops the others), items."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from monitor.demo.server import SiteServer

SITE = Path(__file__).resolve().parents[1] / "data" / "e2e_site"
runner = CliRunner()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_init_writes_an_editable_copy_that_checks_clean(tmp_path: Path) -> None:
    target = tmp_path / "cfg"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "settings.yaml").is_file() and list((target / "rules").glob("*.yaml"))
    (target / "settings.yaml").write_text("data_dir: mydata\n", encoding="utf-8")
    again = runner.invoke(app, ["init", str(target)])
    assert "kept existing" in again.output
    assert (target / "settings.yaml").read_text(encoding="utf-8") == "data_dir: mydata\n"
    check = runner.invoke(app, ["config", "check", "--config", str(target), "--json"])
    assert check.exit_code == 0, check.output
    summary = json.loads(check.output)
    assert summary["rules"] > 10 and summary["data_dir"] == str((target / "mydata").resolve())


def test_crawl_reports_a_dead_source_and_still_crawls_the_others(
    tmp_config: Callable[..., Path], site_server: Callable[[Path], SiteServer]
) -> None:
    server = site_server(SITE)
    config = tmp_config(
        settings={"crawl": {"autothrottle": False, "retries": 0, "download_timeout": "5s"}},
        sources=[
            {"id": "dead", "kind": "feed", "url": f"http://127.0.0.1:{closed_port()}/feed.xml"},
            {"id": "alive", "kind": "feed", "url": f"{server.base_url}/feed.xml", "lang": "en"},
        ],
    )
    result = runner.invoke(app, ["crawl", "--config", str(config), "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.output)
    crawls = {c["source"]: c for c in summary["crawls"]}
    assert crawls["dead"]["status"] == "failed" and "refused the connection" in (crawls["dead"]["error"] or "")
    assert crawls["alive"]["status"] == "ok" and crawls["alive"]["new"] == 2

    listed = runner.invoke(app, ["items", "list", "--config", str(config), "--json"])
    titles = {row["title"] for row in json.loads(listed.output)}
    assert "City marathon draws record crowd" in titles
    item_id = next(row["id"] for row in json.loads(listed.output) if "judicial review" in row["title"])
    shown = json.loads(runner.invoke(app, ["items", "show", str(item_id), "--config", str(config), "--json"]).output)
    assert "imminent risk of execution" in shown["text"]
    assert any(m["event"] == "review_rejected" for m in shown["matches"])

    exported = config.parent / "items.jsonl"
    runner.invoke(app, ["items", "export", "--config", str(config), "-o", str(exported)])
    rows = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert {r["title"] for r in rows} == titles and all({"id", "text", "title"} <= set(r) for r in rows)

    status = runner.invoke(app, ["items", "show", "999999", "--config", str(config)])
    assert status.exit_code != 0


def test_db_upgrade_and_downgrade(tmp_config: Callable[..., Path]) -> None:
    config = tmp_config()
    up = runner.invoke(app, ["db", "upgrade", "--config", str(config)])
    assert up.exit_code == 0 and "is at revision" in up.output and "None" not in up.output
    down = runner.invoke(app, ["db", "downgrade", "base", "--config", str(config)])
    assert down.exit_code == 0 and "is at revision None" in down.output
