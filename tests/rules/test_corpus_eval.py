"""tocsin rules eval: figures per event and language, errors, --json, --min-f1, located input errors."""

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
    query: hanged OR "اعدام شد"
  - id: transfers
    event: transfer
    severity: warning
    query: transferred NEAR/4 prison
"""
ROWS = [
    {"id": "p1", "text": "Two men were hanged in Evin.", "lang": "en", "labels": ["execution"]},
    {"id": "p2", "text": "او سحرگاه امروز اعدام شد.", "lang": "fa", "labels": ["execution"]},
    {"id": "p3", "text": "A man was executed by firing squad.", "lang": "en", "labels": ["execution"]},
    {"id": "p4", "text": "The picture hanged on the wall.", "lang": "en", "labels": []},
    {"id": "p5", "text": "She was transferred to Qarchak prison.", "lang": "en", "labels": ["transfer"]},
    {"id": "p6", "text": "He was hanged after being transferred to a prison.", "lang": "en",
     "labels": ["execution"], "optional_labels": ["transfer"]},
]


def empty_dir(tmp_path: Path) -> Path:
    """A watchlist directory with no lists."""
    (tmp_path / "lists").mkdir(exist_ok=True)
    return tmp_path / "lists"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in ROWS), encoding="utf-8")
    return rules, corpus


def test_json_counts_per_event_and_language(setup: tuple[Path, Path], tmp_path: Path) -> None:
    rules, corpus = setup
    result = runner.invoke(app, ["rules", "eval", str(corpus), "--rules", str(rules),
                                 "--watchlists", str(empty_dir(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    execution = report["events"]["execution"]
    # p1, p2, p6 found; p3 missed; p4 ("hanged" a picture) is a false positive.
    assert (execution["all"]["tp"], execution["all"]["fp"], execution["all"]["fn"]) == (3, 1, 1)
    assert (execution["fa"]["tp"], execution["fa"]["fp"], execution["fa"]["fn"]) == (1, 0, 0)
    assert execution["en"]["precision"] == pytest.approx(2 / 3, abs=1e-4)
    # An optional label that fires counts for nothing: transfer is 1/0/0, p6 is not a false positive.
    transfer = report["events"]["transfer"]["all"]
    assert (transfer["tp"], transfer["fp"], transfer["fn"]) == (1, 0, 0)
    assert report["hard_negatives_fired"] == [{"id": "p4", "lang": "en", "fired": {"execution": ["hangings"]}}]
    f1_execution = 2 * (3 / 4) * (3 / 4) / (3 / 4 + 3 / 4)
    assert report["macro_f1"] == pytest.approx((f1_execution + 1.0) / 2, abs=1e-4)


def test_table_and_errors_name_the_passage_and_the_rule(setup: tuple[Path, Path], tmp_path: Path) -> None:
    rules, corpus = setup
    result = runner.invoke(app, ["rules", "eval", str(corpus), "--rules", str(rules),
                                 "--watchlists", str(empty_dir(tmp_path)), "--errors"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "macro-F1 0.875" in result.output
    assert "hard negatives: 1 of 1 fired: p4 (execution)" in result.output
    assert "FP execution: fired by hangings" in result.output
    assert "p3 [en] A man was executed by firing squad." in result.output
    assert "FN execution: no rule of this event saw any of its terms" in result.output


def test_min_f1_fails_below_the_figure(setup: tuple[Path, Path], tmp_path: Path) -> None:
    rules, corpus = setup
    common = ["rules", "eval", str(corpus), "--rules", str(rules), "--watchlists", str(empty_dir(tmp_path))]
    assert runner.invoke(app, [*common, "--min-f1", "0.87"]).exit_code == 0
    below = runner.invoke(app, [*common, "--min-f1", "0.9"])
    assert below.exit_code == 1
    assert "macro-F1 0.875 is below --min-f1 0.900" in below.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "text": "x", "labels": []}\nnot json\n', "corpus.jsonl:2: not JSON"),
        ('{"id": "a", "labels": []}\n', "corpus.jsonl:1: text: Field required"),
        ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', "corpus.jsonl:2: id 'a' already used on line 1"),
        ("\n\n", "corpus.jsonl: no passages"),
    ],
)
def test_a_bad_corpus_is_reported_with_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["rules", "eval", str(corpus)], terminal_width=200)
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_corpus_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["rules", "eval", str(tmp_path / "nope.jsonl")], terminal_width=200)
    assert result.exit_code == 2
    assert "nope.jsonl: No such file or directory" in result.output
