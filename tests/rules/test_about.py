"""Where an event happened, read from the passage (``about:``), negations per clause, the ``lead:``
field, speaker lists and strict term-list entries."""

from __future__ import annotations

import pytest

from monitor.rules import Document, RuleEngine
from tests.rules.conftest import EngineFactory

LISTS = """
lists:
  - id: here
    kind: term
    entries: [Iran, ایران, Evin]
  - id: there
    kind: term
    entries: [Saudi Arabia, US Supreme Court, spying for Iran, =ریاض]
  - id: un
    kind: speaker
    variants: false
    entries: [{name: UN experts, role: un_experts}, {name: Mai Sato, role: un_rapporteur_iran}]
"""
RULES = """
rules:
  - id: hanged
    event: execution
    severity: critical
    query: hanged OR executed OR "رد شد"
    about: {query: '@here', other: '@there'}
  - id: hanged.assumed
    event: execution
    severity: info
    query: hanged
    about: {query: '@here', other: '@there', otherwise: here}
  - id: rejected
    event: review_rejected
    severity: critical
    query: retrial NEAR/8 rejected
    negations:
      - {query: accepted, within: clause}
  - id: lead.only
    event: execution
    severity: info
    query: 'lead:hanged'
  - id: speaks
    event: un_statement
    severity: warning
    query: '@un AND said'
"""


@pytest.fixture
def engine(make_engine: EngineFactory) -> RuleEngine:
    return make_engine(RULES, LISTS)


def _fired(engine: RuleEngine, text: str, title: str = "") -> set[str]:
    return {m.rule_id for m in engine.match(Document("d", text, title))}


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("Two men were hanged in Iran on Monday.", True),
        ("Two men were hanged in Saudi Arabia on Monday.", False),
        # The sentence names nothing: the paragraph decides.
        ("Saudi Arabia carried out more executions. Two men were hanged on Monday.", False),
        ("Iran carried out more executions. Two men were hanged on Monday.", True),
        # Both in one sentence: the mention nearest the evidence decides.
        ("Iran condemned it after two men were hanged in Saudi Arabia.", False),
        ("Two men were hanged in Iran, Saudi Arabia's foreign ministry said.", True),
        # "US Supreme Court" is elsewhere although "Supreme Court" alone is not.
        ("A man convicted of spying for Iran was executed, the US Supreme Court said.", False),
        # Nothing names a place: `otherwise` decides (elsewhere by default).
        ("Two men were hanged at dawn.", False),
    ],
)
def test_about_reads_the_place_from_the_passage(engine: RuleEngine, text: str, fires: bool) -> None:
    assert ("hanged" in _fired(engine, text)) is fires


def test_otherwise_here_assumes_the_place_when_nothing_names_one(engine: RuleEngine) -> None:
    assert "hanged.assumed" in _fired(engine, "Two men were hanged at dawn.")
    assert "hanged.assumed" not in _fired(engine, "Two men were hanged at dawn in Saudi Arabia.")


def test_explain_says_why_the_place_ruled_the_rule_out(engine: RuleEngine) -> None:
    explanation = engine.explain(Document("d", "Two men were hanged in Saudi Arabia."))
    miss = next(t for t in explanation.near_misses if t.rule_id == "hanged")
    assert miss.reason.startswith("about elsewhere: the sentence")


def test_strict_term_entries_take_no_persian_affixes(engine: RuleEngine) -> None:
    # «ریاضی» (mathematics) is not «ریاض» (Riyadh) with a suffix.
    assert "hanged" in _fired(engine, "در ایران درخواست معلم ریاضی رد شد.")


def test_a_clause_negation_leaves_the_other_clause_alone(engine: RuleEngine) -> None:
    assert "rejected" in _fired(engine, "The retrial request was rejected, although a bail request was accepted.")
    assert "rejected" not in _fired(engine, "The retrial request was rejected and then accepted on appeal.")


def test_the_lead_is_the_title_and_the_first_two_sentences(engine: RuleEngine) -> None:
    assert "lead.only" in _fired(engine, "One. Two men were hanged. Three.")
    assert "lead.only" not in _fired(engine, "One. Two. Three men were hanged.")
    assert "lead.only" in _fired(engine, "One. Two. Three.", title="Two men hanged")


def test_speaker_lists_fill_the_speakers_slot(engine: RuleEngine) -> None:
    (match,) = [
        m for m in engine.match(Document("d", "Mai Sato said the executions must stop.")) if m.rule_id == "speaks"
    ]
    assert match.entities["speakers"] == ["Mai Sato"]
