"""``tocsin analyze``, ``tocsin cases list|show|proposals`` and ``tocsin trends [--plot]`` end to end."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.loader import TocsinConfig
from monitor.cli import app
from tests.trends.streams import Planned, StreamWriter, execution_stream, local_midnight
from tests.trends.test_trends_ladder import planned as ladder_stream

START = date(2024, 7, 1)
SURGE_START = START + timedelta(days=120)
NOW = (SURGE_START + timedelta(days=14)).isoformat()
HOSTILE = "[bold red]fake[/] <b>x</b> [link=http://evil]y[/link]"


@pytest.fixture
def config_dir(database: object, make_config: Callable[..., TocsinConfig], writer: StreamWriter) -> Path:
    stream = execution_stream(start=START, quiet_days=120, surge_days=14, quiet_rate=3.8, surge_rate=6.0)
    hostile = Planned("hrana", local_midnight(SURGE_START) + timedelta(hours=2), "arrest",
                      {"persons": ["Arash Ahmadi"]}, HOSTILE)
    writer.write(sorted(stream.planned + ladder_stream() + [hostile], key=lambda p: p.at))
    return make_config().directory


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_analyze_then_cases(config_dir: Path) -> None:
    code, out = invoke("analyze", "--config", str(config_dir), "--now", "2025-07-31", "--json")
    assert code == 0, out
    raised = json.loads(out)
    assert {(r["kind"], r["severity"]) for r in raised} >= {("surge", "warning"), ("escalation", "critical")}
    code, out = invoke("analyze", "--config", str(config_dir), "--now", "2025-07-31")
    assert code == 0 and "0 new alerts" in out  # idempotent

    code, out = invoke("cases", "list", "--config", str(config_dir))
    assert code == 0 and "imminent" in out and "Masouri" in out
    code, out = invoke("cases", "list", "--config", str(config_dir), "--json")
    cases = json.loads(out)
    assert (cases[0]["person"], cases[0]["risk_level"]) == ("Behrouz Ehsani", "imminent")  # highest risk first
    code, out = invoke("cases", "list", "--config", str(config_dir), "--at-risk", "--json")
    assert {c["person"] for c in json.loads(out)} == {"Behrouz Ehsani", "Mehdi Hassani"}

    code, out = invoke("cases", "show", "ehsani", "--config", str(config_dir))
    assert code == 0, out
    assert "Behrouz Ehsani: imminent" in out
    for expected in ("death sentence", "review rejected", "transfer", "hrana_fa [fa]", "iranhrm [en]",
                     "رد درخواست اعاده دادرسی", "http://127.0.0.1/"):
        assert expected in out
    code, out = invoke("cases", "show", "Arash Ahmadi", "--config", str(config_dir))
    assert HOSTILE in " ".join(out.split()) or "[bold red]fake[/]" in out  # scraped text printed literally
    code, out = invoke("cases", "show", "Nobody Known", "--config", str(config_dir))
    assert code == 2 and "no case file" in out

    code, out = invoke("cases", "proposals", "--config", str(config_dir), "--json")
    assert {p["name"] for p in json.loads(out)} == {"Navid Karimzadeh", "Omid Sohrabi", "امید رحیمی"}


def test_trends_table_marks_the_surge(config_dir: Path) -> None:
    invoke("analyze", "--config", str(config_dir), "--now", NOW)
    code, out = invoke("trends", "--config", str(config_dir), "--now", NOW, "--json")
    assert code == 0, out
    rows = json.loads(out)["rows"]
    assert len(rows) == 30
    marked = [r for r in rows if r["alert"]]
    assert len(marked) == 1 and marked[0]["start"] >= SURGE_START.isoformat()
    assert marked[0]["window"] >= marked[0]["limit"] > marked[0]["expected"]
    code, out = invoke("trends", "--config", str(config_dir), "--now", NOW)
    assert code == 0 and "SURGE" in out and "7-day total" in out

    code, out = invoke("trends", "--config", str(config_dir), "--series", "executions-by-prison", "--now", NOW)
    assert code == 2 and "--scope" in out and "Qezel Hesar" in out  # names the busiest prisons
    code, out = invoke("trends", "--config", str(config_dir), "--series", "executions-by-prison",
                       "--scope", "qezel hesar prison", "--now", NOW, "--json")
    assert code == 0 and sum(r["count"] for r in json.loads(out)["rows"]) > 0
    code, out = invoke("trends", "--config", str(config_dir), "--series", "nope")
    assert code == 2 and "known: executions" in out
    code, out = invoke("trends", "--config", str(config_dir), "--series", "rhetoric", "--now", NOW, "--json")
    assert code == 0 and json.loads(out)["bin"] == "week"


def test_trends_plot_writes_a_png(config_dir: Path, tmp_path: Path) -> None:
    invoke("analyze", "--config", str(config_dir), "--now", NOW)
    target = tmp_path / "charts" / "executions.png"
    code, out = invoke("trends", "--config", str(config_dir), "--now", NOW, "--last", "90", "--plot", str(target))
    assert code == 0, out
    assert "(90 days, 1 alert marked)" in out
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1210, 605)  # 11 x 5.5 inches at 110 dpi
    assert len(data) > 20_000  # a drawn chart, not an empty canvas


def test_bad_now_is_a_clear_error(config_dir: Path) -> None:
    code, out = invoke("trends", "--config", str(config_dir), "--now", "last tuesday")
    assert code == 2 and "not an ISO date" in out
