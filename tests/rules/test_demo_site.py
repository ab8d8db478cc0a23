"""Acceptance: the default rules against the demo site's answer key (demo/site/expected.yaml).

Main text only (the <article> of a page, the text of a Telegram post), as the key specifies. Event
types outside the key's `event_types` (execution_risk, watchlist) are Tocsin extras the key does
not judge.
"""

from __future__ import annotations

from typing import Any

import pytest

from monitor.rules import RuleEngine
from tests.rules.demo_site import ANSWER_KEY, DemoItem, load_items


def _items() -> list[Any]:
    if not ANSWER_KEY.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{ANSWER_KEY} is absent"))]
    items, key = load_items()
    judged = frozenset(key["event_types"])
    return [pytest.param(item, judged, id=item.key) for item in items]


@pytest.mark.parametrize(("item", "judged"), _items())
def test_demo_item(engine: RuleEngine, item: DemoItem, judged: frozenset[str]) -> None:
    matches = engine.match(item.document)
    fired = {m.event for m in matches} & judged
    missing = item.expect - fired
    false_positives = fired - item.expect - item.tolerate
    assert not missing, f"missed {sorted(missing)}; fired {sorted(m.rule_id for m in matches)}"
    assert not false_positives, f"false positives {sorted(false_positives)}"
    persons = {name for m in matches for name in m.entities["persons"]}
    assert set(item.persons) <= persons
    if item.count is not None:
        counts = {m.entities["count"] for m in matches if m.event == "execution"}
        assert item.count in counts, counts
