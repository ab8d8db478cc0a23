"""Background clauses: table-driven cases (tests/data/rules/background.yaml), and the rule-language
features built on them (``main:``, ``background: ignore``, negations read in the foreground)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.rules import Document, RuleEngine
from monitor.rules.scanner import Scanner, TermTable
from monitor.rules.view import DocumentView
from tests.rules.conftest import DATA, EngineFactory

CASES = yaml.safe_load((DATA / "background.yaml").read_text(encoding="utf-8"))["cases"]


def _background_texts(view: DocumentView, raw_title: str, raw_text: str) -> list[str]:
    """The raw substrings the view marks as background, in text order."""
    out: list[str] = []
    for sentence in view.sentences:
        start = None
        for position in range(sentence[0], sentence[1]):
            inside = view.in_background((position, position + 1))
            if inside and start is None:
                start = position
            if not inside and start is not None:
                out.append(view.raw_text((start, position)).strip(" ،,"))
                start = None
        if start is not None:
            out.append(view.raw_text((start, sentence[1])).strip(" ،,."))
    return [text for text in out if text]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_background_clauses(case: dict[str, Any]) -> None:
    view = DocumentView(case.get("title", ""), case["text"], Scanner(TermTable()))
    found = _background_texts(view, case.get("title", ""), case["text"])
    assert [f.rstrip(".") for f in found] == [b.rstrip(".") for b in case["background"]]
    joined = " | ".join(found)
    for text in case["foreground"]:
        assert text not in joined, f"{text!r} was taken for background in {found}"


RULES = """
rules:
  - id: sentence.news
    event: death_sentence
    severity: critical
    background: ignore
    query: '"sentenced to death" OR "به اعدام محکوم"'
    negations:
      - query: overturned
        within: sentence
  - id: sentence.anywhere
    event: death_sentence
    severity: info
    query: '"sentenced to death"'
  - id: sentence.main-field
    event: death_sentence
    severity: info
    query: 'main:"sentenced to death" AND transferred'
"""


@pytest.fixture
def engine(make_engine: EngineFactory) -> RuleEngine:
    return make_engine(RULES)


def _fired(engine: RuleEngine, text: str, title: str = "") -> set[str]:
    return {m.rule_id for m in engine.match(Document("d", text, title))}


def test_background_ignore_does_not_fire_on_a_relative_clause(engine: RuleEngine) -> None:
    text = "Pakhshan Azizi, who was sentenced to death in July 2024, was transferred to Evin on Monday."
    assert _fired(engine, text) == {"sentence.anywhere"}


def test_background_ignore_fires_on_the_news(engine: RuleEngine) -> None:
    assert _fired(engine, "The Revolutionary Court sentenced three protesters to death on Monday.") == set()
    assert "sentence.news" in _fired(engine, "Three protesters were sentenced to death on Monday.")


def test_the_main_field_restricts_one_term_to_the_foreground(engine: RuleEngine) -> None:
    assert "sentence.main-field" in _fired(engine, "He was sentenced to death and transferred to Evin.")
    assert "sentence.main-field" not in _fired(
        engine, "Azizi, who was sentenced to death in 2024, was transferred to Evin."
    )


def test_a_negation_cue_in_a_background_clause_negates_nothing(engine: RuleEngine) -> None:
    negated = "He was sentenced to death, but the Supreme Court overturned the sentence."
    kept = "He was sentenced to death by a court whose earlier ruling, which was overturned, was criticised."
    assert "sentence.news" not in _fired(engine, negated)
    assert "sentence.news" in _fired(engine, kept)


def test_explain_says_the_trigger_was_only_in_the_background(engine: RuleEngine) -> None:
    explanation = engine.explain(Document("d", "Azizi, who was sentenced to death in 2024, was moved."))
    miss = next(t for t in explanation.near_misses if t.rule_id == "sentence.news")
    assert "background" in miss.reason
