"""The default rules on signals and hard negatives in English and Persian
(tests/data/rules/*.yaml).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.rules import Document, Match, RuleEngine
from tests.rules.conftest import DATA

FILES = ("signals_en.yaml", "signals_fa.yaml", "hard_negatives.yaml")
INFO_ONLY = {"watchlist"}  # a watched name is always worth an info; not a false positive


def _cases() -> list[Any]:
    out = []
    for name in FILES:
        for case in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["cases"]:
            out.append(pytest.param(case, id=f"{name.removesuffix('.yaml')}:{case['id']}"))
    return out


def _document(case: dict[str, Any]) -> Document:
    return Document(
        id=case["id"],
        text=case.get("text", ""),
        title=case.get("title", ""),
        lang=case.get("lang"),
        source=case.get("source"),
        tags=frozenset(case.get("tags", ())),
    )


def _describe(matches: list[Match]) -> str:
    return ", ".join(f"{m.rule_id}({m.event})" for m in matches) or "nothing"


@pytest.mark.parametrize("case", _cases())
def test_default_rules(engine: RuleEngine, case: dict[str, Any]) -> None:
    matches = engine.match(_document(case))
    fired = {m.event for m in matches}
    for event in case.get("fires", []):
        assert event in fired, f"expected {event}, fired: {_describe(matches)}"
    silent = case.get("silent", [])
    if silent == "all":
        noisy = [m for m in matches if m.event not in INFO_ONLY]
        assert not noisy, f"expected silence, fired: {_describe(noisy)}"
    else:
        for event in silent:
            assert event not in fired, f"{event} must not fire, fired: {_describe(matches)}"
    for event, expected in case.get("entities", {}).items():
        found = [m for m in matches if m.event == event]
        assert found, f"no {event} match to check entities on"
        entities = found[0].entities
        for key, value in expected.items():
            if isinstance(value, list):
                missing = [item for item in value if item not in entities[key]]
                assert not missing, f"{event}.{key}: missing {missing} in {entities[key]}"
            else:
                assert entities[key] == value, f"{event}.{key}: {entities[key]!r} != {value!r}"


@pytest.mark.parametrize("case", _cases())
def test_explain_agrees_with_match(engine: RuleEngine, case: dict[str, Any]) -> None:
    """explain() takes the slow, talkative path; match() the fast one: same rules must fire."""
    document = _document(case)
    fired = {trace.rule_id for trace in engine.explain(document).fired}
    assert fired == {m.rule_id for m in engine.match(document)}
