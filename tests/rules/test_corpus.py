"""The labelled corpus in tests/data/corpus: its split, its labels, and the figures the default rules reach
on it. The check part is never tuned on; the floor below is the figure reached, so a regression fails."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from monitor.alerts.tuning import read_corpus as load_corpus
from monitor.rules import RuleEngine
from monitor.rules.corpus import CORPUS_EVENTS, corpus_part, evaluate_corpus

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
PARTS = ("tuning", "check")
# The figures `tocsin rules eval` printed when these floors were set (docs/rules.md, "Measuring rules").
MACRO_F1_FLOOR = {"tuning": 0.94, "check": 0.80}


@pytest.mark.parametrize("part", PARTS)
def test_every_passage_sits_in_the_part_its_url_hashes_to(part: str) -> None:
    rows = load_corpus(CORPUS / f"{part}.jsonl")
    assert all(corpus_part(row.url) == part for row in rows)


def test_parts_share_no_passage_and_no_page() -> None:
    tuning, check = (load_corpus(CORPUS / f"{part}.jsonl") for part in PARTS)
    assert not {r.id for r in tuning} & {r.id for r in check}
    assert not {r.url for r in tuning} & {r.url for r in check}
    texts = Counter(r.text for r in (*tuning, *check))
    assert texts.most_common(1)[0][1] == 1


def test_labels_follow_the_conventions() -> None:
    for part in PARTS:
        for line in (CORPUS / f"{part}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            assert list(row) == ["id", "text", "title", "lang", "url", "labels", "optional_labels", "note"]
            assert row["lang"] in ("en", "fa")
            assert set(row["labels"]) <= set(CORPUS_EVENTS) and set(row["optional_labels"]) <= set(CORPUS_EVENTS)
            assert not set(row["labels"]) & set(row["optional_labels"])
            assert row["url"].startswith(("http://", "https://"))


@pytest.mark.parametrize("part", PARTS)
def test_default_rules_hold_their_figures(engine: RuleEngine, part: str) -> None:
    report = evaluate_corpus(engine, load_corpus(CORPUS / f"{part}.jsonl"))
    assert report.macro_f1() >= MACRO_F1_FLOOR[part]
