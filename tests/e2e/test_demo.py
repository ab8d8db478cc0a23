"""The README's first command: `tocsin demo` crawls the bundled site, raises the seed's alerts, sends each once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def tocsin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, env={**__import__("os").environ, "COLUMNS": "160"})


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str],
                                                                   subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("demo")
    first = tocsin("demo", "--data-dir", str(workdir / "data"), "--port", "0", cwd=workdir)
    second = tocsin("demo", "--data-dir", str(workdir / "data"), "--port", "0", cwd=workdir)
    return workdir, first, second


def alerts(workdir: Path) -> list[dict[str, Any]]:
    result = tocsin("alerts", "list", "--json", "--limit", "500", "--config", str(workdir / "data" / "config"),
                    cwd=workdir)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_first_run_prints_alerts_with_evidence(demo_runs: Any) -> None:
    _, first, _ = demo_runs
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    for source in ("demo-rights-feed", "demo-state-fa", "demo-state-en", "demo-telegram"):
        assert f"crawled {source}: ok" in out
    assert "CRITICAL" in out
    assert "messages delivered through Apprise to the demo channel" in out


def test_second_run_sends_nothing_twice(demo_runs: Any) -> None:
    workdir, first, second = demo_runs
    assert second.returncode == 0, second.stderr[-3000:]
    assert "No new alerts" in second.stdout
    # the second run counts the same alerts the first one raised and delivered
    raised = re.search(r"(\d+) new alerts", first.stdout)
    counted = re.search(r"all (\d+) alerts from the demo site were already delivered", " ".join(second.stdout.split()))
    assert raised and counted and raised[1] == counted[1], (first.stdout[-500:], second.stdout)
    for alert in alerts(workdir):
        sent = [d for d in alert["deliveries"] if d["status"] == "sent" and d["kind"] == "new"]
        assert len(sent) <= 1, alert


@pytest.mark.parametrize(("event", "subject"), [
    ("review_rejected", "Behrouz Ehsani"),
    ("transfer", "Saeed Masouri"),
    ("death_sentence", None),
    ("execution", None),
    ("rhetoric", None),
    ("un_statement", None),
])
def test_seed_signals_raise_alerts(demo_runs: Any, event: str, subject: str | None) -> None:
    workdir, _, _ = demo_runs
    found = [a for a in alerts(workdir) if a["event"] == event and (subject is None or a["subject"] == subject)]
    assert found, f"no {event} alert{' about ' + subject if subject else ''}"
    assert all(any(d["status"] == "sent" for d in a["deliveries"]) for a in found)
