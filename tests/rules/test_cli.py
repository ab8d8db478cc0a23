"""tocsin match / rules explain / rules test through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from monitor.cli.rules import register

app = typer.Typer()
register(app)
runner = CliRunner()

RULES = """
rules:
  - id: hangings
    event: execution
    severity: critical
    query: 'hanged OR «اعدام شد»'
    examples:
      match: [two men were hanged]
      no_match: [two men were freed]
"""
LISTS = """
lists:
  - id: prisons
    kind: prison
    entries: [{name: Evin Prison, aliases: [Evin, اوین]}]
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "rules" / "main.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "watchlists" / "places.yaml").write_text(LISTS, encoding="utf-8")
    return tmp_path


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_match_reads_json_lines_and_writes_one_line_per_match(
    config_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": 7, "title": "Hanged in Evin", "text": "Two men were hanged.", "url": "x"})
        + "\n\n"
        + json.dumps({"id": "b", "text": "او در اوین اعدام شد", "lang": "fa", "tags": ["t"]})
        + "\n"
        + json.dumps({"id": "c", "text": "nothing"})
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["match", "--config", str(config_dir), "--input", str(source)])
    assert result.exit_code == 0, result.output
    first, second = lines(result.stdout)
    assert first == {
        "id": "7",
        "rule": "hangings",
        "event": "execution",
        "severity": "critical",
        "score": 1.0,
        "entities": first["entities"],
        "spans": [[13, 19], ["title", 0, 6]],
    }
    assert second["id"] == "b" and second["spans"] == [[11, 19]]
    entities = first["entities"]
    assert isinstance(entities, dict)
    assert set(entities) >= {"persons", "prisons", "count", "places"}


def test_match_reads_stdin(config_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["match", "-c", str(config_dir), "--input", "-"],
        input='{"id": "s", "text": "he was hanged"}\n',
    )
    assert result.exit_code == 0 and lines(result.stdout)[0]["id"] == "s"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not json", "input line 2: not JSON"),
        ('["a list"]', "input line 2: expected a JSON object"),
        ('{"id": "x"}', "input line 2: text: Field required"),
        ('{"id": "x", "text": 5}', "input line 2: text:"),
    ],
)
def test_bad_input_lines_are_named(config_dir: Path, bad: str, message: str) -> None:
    result = runner.invoke(
        app,
        ["match", "-c", str(config_dir), "-i", "-"],
        input='{"id": "ok", "text": "hanged"}\n' + bad + "\n",
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert lines(result.stdout)[0]["id"] == "ok"  # lines before the bad one were matched


def test_rules_and_watchlists_paths_override_the_config(config_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        "rules:\n  - {id: evin, event: e, severity: info, query: '@prisons'}\n", encoding="utf-8"
    )
    result = runner.invoke(
        app,
        ["match", "--rules", str(other), "--watchlists", str(config_dir / "watchlists"), "-i", "-"],
        input='{"id": 1, "text": "held in Evin"}\n',
    )
    assert result.exit_code == 0, result.output
    assert [line["rule"] for line in lines(result.stdout)] == ["evin"]


def test_config_comes_from_the_environment(config_dir: Path) -> None:
    result = runner.invoke(
        app,
        ["match", "-i", "-"],
        input='{"id": 1, "text": "hanged"}\n',
        env={"TOCSIN_CONFIG": str(config_dir)},
    )
    assert [line["rule"] for line in lines(result.stdout)] == ["hangings"]


def test_default_config_is_the_packaged_one() -> None:
    result = runner.invoke(
        app,
        ["match", "-i", "-"],
        env={"TOCSIN_CONFIG": ""},
        input='{"id": 1, "text": "Saeed Masouri was exiled to Zahedan Prison in Iran."}\n',
    )
    assert result.exit_code == 0, result.output
    assert "transfer.forced" in [line["rule"] for line in lines(result.stdout)]


def test_a_broken_rule_file_is_a_located_one_line_error(config_dir: Path) -> None:
    (config_dir / "rules" / "main.yaml").write_text(
        "rules:\n  - {id: r, event: e, severity: info, query: 'a b'}\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["match", "-c", str(config_dir), "-i", "-"], input="")
    assert result.exit_code == 2
    assert f"{config_dir / 'rules' / 'main.yaml'}:2:49: rules[0].query:" in result.stderr.replace(
        "\n", ""
    )


def test_explain_text_shows_evidence_and_near_misses(config_dir: Path) -> None:
    result = runner.invoke(
        app, ["rules", "explain", "-c", str(config_dir), "--text", "Two men were hanged."]
    )
    assert result.exit_code == 0, result.output
    assert "fired hangings" in result.stdout and "hanged" in result.stdout
    engine_default = runner.invoke(
        app,
        [
            "rules",
            "explain",
            "--text",
            "The Supreme Court accepted the request for judicial review in Iran.",
        ],
        env={"TOCSIN_CONFIG": "", "COLUMNS": "200"},
    )
    assert "no rule fired" in engine_default.stdout
    assert "review.rejected" in engine_default.stdout and "near misses" in engine_default.stdout


def test_explain_needs_exactly_one_input_and_an_existing_item(config_dir: Path) -> None:
    neither = runner.invoke(app, ["rules", "explain", "-c", str(config_dir)])
    assert neither.exit_code == 2 and "exactly one of --text or --item" in neither.stderr
    item = runner.invoke(app, ["rules", "explain", "-c", str(config_dir), "--item", "42"])
    assert item.exit_code == 2 and "no stored item 42" in item.stderr
    word = runner.invoke(app, ["rules", "explain", "-c", str(config_dir), "--item", "latest"])
    assert word.exit_code == 2 and "a stored item id" in word.stderr


def test_rules_test_passes_and_fails_on_examples(config_dir: Path) -> None:
    passing = runner.invoke(app, ["rules", "test", "-c", str(config_dir)])
    assert passing.exit_code == 0 and "2/2 examples passed" in passing.stdout
    (config_dir / "rules" / "main.yaml").write_text(
        RULES.replace("no_match: [two men were freed]", "no_match: [two men were hanged at dawn]"),
        encoding="utf-8",
    )
    failing = runner.invoke(app, ["rules", "test", "-c", str(config_dir)], env={"COLUMNS": "200"})
    assert failing.exit_code == 1
    assert "FAIL" in failing.stdout and "1/2 examples passed" in failing.stdout


def test_rules_test_since_backtests_the_store(config_dir: Path) -> None:
    result = runner.invoke(app, ["rules", "test", "-c", str(config_dir), "--since", "30d"])
    assert result.exit_code == 0 and "0 would newly fire, 0 would stop firing" in result.stdout
    bad = runner.invoke(app, ["rules", "test", "-c", str(config_dir), "--since", "a while"])
    assert bad.exit_code == 2 and "--since: expected a duration" in bad.stderr


def test_default_rules_examples_all_pass() -> None:
    result = runner.invoke(app, ["rules", "test"], env={"TOCSIN_CONFIG": ""})
    assert result.exit_code == 0, result.stdout
