"""Semantics of the rule language on small rule files: operators, scopes, exclusions, negations,
weights, sources and languages, evidence spans in the raw text, and which rules are evaluated."""

from __future__ import annotations

import pytest

from monitor.rules import Document, RuleEngine, run_examples
from tests.rules.conftest import EngineFactory

LISTS = """
lists:
  - id: prisons
    kind: prison
    entries:
      - {name: Evin Prison, aliases: [Evin, زندان اوین]}
  - id: death_row
    kind: person
    entries: [Behrouz Ehsani]
"""


def rule(query: str, **options: str) -> str:
    extra = "".join(f"\n    {key}: {value}" for key, value in options.items())
    head = "rules:\n  - id: probe\n    event: probe\n    severity: warning\n"
    return f"{head}    query: {query}{extra}\n"


def fires(engine: RuleEngine, text: str, title: str = "", **fields: object) -> bool:
    return bool(engine.match(Document(id="1", text=text, title=title, **fields)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("'execut* NEAR/3 iran'", "executions rose in Iran", True),
        ("'execut* NEAR/3 iran'", "Iran carried out executions", True),
        ("'execut* NEAR/1 iran'", "executions rose sharply across Iran", False),
        ("'execut* BEFORE/3 iran'", "Iran carried out executions", False),
        ("'execut* BEFORE/3 iran'", "executions in Iran", True),
        ("'hanged AND NOT iraq'", "two men were hanged in Iran", True),
        ("'hanged AND NOT iraq'", "two men were hanged in Iraq", False),
        ("'(hanged OR executed) AND @prisons'", "he was executed in Evin", True),
        ("'(hanged OR executed) AND @watchlist:prisons'", "he was executed in Evin", True),
        ("'\"death sentence\"*'", "death sentences were issued", True),
        ("'«حکم اعدام» NEAR/2 @prisons'", "حکم اعدام او در زندان اوین اجرا شد", True),
        ("'/\\d+ prisoners/ AND executed'", "9 prisoners were executed", True),
        ("'/\\d+ prisoners/ AND executed'", "nine prisoners were executed", False),
    ],
)
def test_operators(make_engine: EngineFactory, query: str, text: str, expected: bool) -> None:
    engine = make_engine(rule(query, within="document"), LISTS)
    assert fires(engine, text) is expected


def test_near_never_pairs_title_with_text(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'executed NEAR/2 iran'", within="document"))
    assert not fires(engine, title="News from Iran", text="Three men were executed.")
    assert fires(engine, title="Executed in Iran", text="")


def test_field_scopes(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'title:executed AND text:iran'", within="document"))
    assert fires(engine, title="Three executed", text="in Iran on Sunday")
    assert not fires(engine, title="In Iran", text="three executed")


def test_sentence_scope_needs_everything_in_one_sentence(make_engine: EngineFactory) -> None:
    sentence = make_engine(rule("'executed AND iran'"))
    document = make_engine(rule("'executed AND iran'", within="document"))
    text = "Three men were executed on Sunday. Rights groups in Iran said so."
    assert not fires(sentence, text)
    assert fires(document, text)
    assert fires(sentence, "Three men were executed in Iran on Sunday. Rights groups said so.")


def test_abbreviations_do_not_end_a_sentence(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'experts AND alarmed'"))
    assert fires(engine, "U.N. experts said they were alarmed.")


def test_paragraph_exclusion_reaches_beyond_the_sentence(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("hanged", exclude="[{query: '1988', within: paragraph}]"))
    assert not fires(engine, "In 1988 the death commissions met. Thousands were hanged.")
    assert fires(engine, "In 1988 the death commissions met.\nThousands were hanged last week.")


def test_negation_cue_only_in_the_sentence_of_the_evidence(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'\"death sentence\"'", negations="[overturned]"))
    assert not fires(engine, "His death sentence was overturned.")
    assert fires(engine, "Her death sentence was confirmed. An older case was overturned.")
    assert not fires(
        engine, "His death sentence was overturned. Her death sentence was overturned too."
    )


def test_context_is_a_document_level_condition(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("executed", context="'iran OR @prisons'"), LISTS)
    assert fires(engine, "He was executed at dawn.", title="Iran: news")
    assert not fires(engine, "He was executed at dawn.", title="World news")


def test_weights_threshold_and_score(make_engine: EngineFactory) -> None:
    engine = make_engine(
        """
        rules:
          - id: diffuse
            event: crackdown
            severity: info
            weights:
              threshold: 3
              terms: {arrests: 1, raids: 1, '@prisons': 2, 'execut*': 1}
        """,
        LISTS,
    )
    assert not fires(engine, "Arrests and raids continued.")
    [found] = engine.match(
        Document(id="1", text="Arrests and raids continued; detainees taken to Evin.")
    )
    assert found.score == 4.0 and found.event == "crackdown"


def test_sources_and_languages(make_engine: EngineFactory) -> None:
    engine = make_engine(
        rule("'1988 AND repeat*'", sources="{tags: [state_media]}", languages="[en]")
    )
    assert fires(engine, "1988 must be repeated", tags=frozenset({"state_media"}))
    assert not fires(engine, "1988 must be repeated", tags=frozenset({"human_rights"}))
    assert not fires(engine, "1988 must be repeated", tags=frozenset({"state_media"}), lang="fa")
    by_id = make_engine(rule("executed", sources="{ids: [irna], exclude_tags: [satire]}"))
    assert fires(by_id, "executed", source="irna")
    assert not fires(by_id, "executed", source="other")
    assert not fires(by_id, "executed", source="irna", tags=frozenset({"satire"}))


def test_language_is_guessed_when_unknown(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'اعدام OR executed'", languages="[fa]"))
    assert fires(engine, "او اعدام شد")
    assert not fires(engine, "he was executed")


def test_spans_point_into_the_raw_text_and_title(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'«سعید ماسوری» OR @prisons OR executed'", within="document"), LISTS)
    title = "EXECUTED  at dawn"
    text = "سعيد  ماسوري، در زندانِ\u200cاوین\u200f منتقل شد"
    [found] = engine.match(Document(id="1", text=text, title=title))
    assert [title[s:e] for s, e in found.title_spans] == ["EXECUTED"]
    assert [text[s:e] for s, e in found.spans] == ["سعيد  ماسوري", "زندانِ\u200cاوین"]


def test_only_rules_whose_terms_occur_are_evaluated(make_engine: EngineFactory) -> None:
    engine = make_engine("""
        rules:
          - {id: a, event: e, severity: info, query: 'hanged AND NOT iraq'}
          - {id: b, event: e, severity: info, query: 'moharebeh NEAR/3 sentenced'}
          - {id: c, event: e, severity: info, query: '/\\d+ executions/'}
        """)
    view = engine.view(Document(id="1", text="Two men were hanged."))
    assert [rule.id for rule in engine.candidates(view)] == [
        "a",
        "c",
    ]  # c has no literal to wait for


def test_regexes_are_re2_and_cannot_backtrack(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'x AND /(a+)+$/'", within="document"))
    text = "x " + "a" * 50_000 + "!"
    assert (
        engine.match(Document(id="1", text=text)) == []
    )  # linear time: returns, no catastrophic backtracking


def test_explain_names_the_failing_clause(make_engine: EngineFactory) -> None:
    engine = make_engine(rule("'executed NEAR/2 (iran OR tehran) AND NOT drill'"))
    explanation = engine.explain(
        Document(id="1", text="Three men were executed last year across all of Iran.")
    )
    assert explanation.fired == []
    [miss] = explanation.near_misses
    assert miss.failed_clause == "executed NEAR/2 (iran OR tehran)"
    assert "not within 2 words" in miss.reason
    fired = engine.explain(Document(id="2", text="Men executed in Tehran."))
    assert [trace.rule_id for trace in fired.fired] == ["probe"] and fired.fired[
        0
    ].match is not None


def test_disabled_rules_do_not_match_but_keep_their_examples(make_engine: EngineFactory) -> None:
    engine = make_engine("""
        rules:
          - id: switched-off
            event: e
            severity: info
            enabled: false
            query: hanged
            examples: {match: [he was hanged], no_match: [he was freed]}
        """)
    assert engine.match(Document(id="1", text="he was hanged")) == []
    assert all(result.passed for result in run_examples(engine))
