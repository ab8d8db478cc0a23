"""Event slots with the default watchlists: counts, places, prisons from/to, courts, branch,
charges.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.rules import ENTITY_KEYS, Document, RuleEngine
from tests.rules.conftest import DATA

CASES = yaml.safe_load((DATA / "slots.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_slots(engine: RuleEngine, case: dict[str, Any]) -> None:
    found, why = engine.match_rule(case["rule"], Document(id=case["id"], text=case["text"]))
    assert found is not None, f"{case['rule']} did not fire: {why}"
    assert set(found.entities) == set(ENTITY_KEYS)
    for key, value in case["entities"].items():
        if isinstance(value, list):
            assert found.entities[key] == value, key
        else:
            assert found.entities[key] == value, key
