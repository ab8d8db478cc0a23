"""While a config file is broken, the read-only commands run on the last configuration that loaded cleanly and
say so; commands that act (crawl, dispatch) still refuse with the located error. Real CLI processes on a
real config directory and SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from monitor.cli import app
from tests.alerts.test_alerts_harness import make_world

REPO_ROOT = Path(__file__).resolve().parents[2]


def tocsin(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(config)], env={"COLUMNS": "200"})


def tocsin_process(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point, for what it prints when it refuses (one line, exit 2)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args, "--config", str(config)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_read_only_commands_use_the_last_good_configuration_and_say_so(tmp_path: Path) -> None:
    world = make_world(tmp_path, channels={})
    (world.directory / "sources.yaml").write_text(yaml.safe_dump({"sources": [
        {"id": "hrana", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml"}]}), encoding="utf-8")
    alert_id = world.report("hrana", persons=("Saeed Masouri",), severity="critical", title="Masouri moved").alert_id
    assert tocsin(world.directory, "alerts", "list", "--json").exit_code == 0  # loads cleanly: kept

    settings = world.directory / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "crawl:\n  retires: 3\n", encoding="utf-8")
    where = f"{settings}:"

    listed = tocsin(world.directory, "alerts", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [a["id"] for a in json.loads(listed.stdout)] == [alert_id]  # stdout stays clean JSON
    assert where in listed.stderr and "crawl.retires: unknown key" in listed.stderr
    assert "using the last good configuration (kept " in listed.stderr

    for args in (("status",), ("sources", "status"), ("sources", "list"), ("alerts", "show", str(alert_id)),
                 ("items", "list")):
        result = tocsin(world.directory, *args)
        assert result.exit_code == 0, (args, result.stderr)
        assert "using the last good configuration" in result.stderr, args
    assert "hrana" in tocsin(world.directory, "sources", "list").stdout

    acting = tocsin_process(world.directory, "alerts", "dispatch")
    assert acting.returncode == 2 and where in acting.stderr and "last good" not in acting.stderr

    settings.write_text(settings.read_text(encoding="utf-8").replace("crawl:\n  retires: 3\n", ""), encoding="utf-8")
    fixed = tocsin(world.directory, "alerts", "list")
    assert fixed.exit_code == 0 and fixed.stderr == ""


def test_without_a_kept_copy_a_broken_file_is_still_the_error(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("schedule:\n  interval: [30m\n", encoding="utf-8")
    result = tocsin_process(config, "alerts", "list")
    assert result.returncode == 2 and "invalid YAML" in result.stderr and "Traceback" not in result.stderr
