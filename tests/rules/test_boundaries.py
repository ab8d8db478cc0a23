"""Persian-aware word boundaries after a literal hit (tests/data/rules/boundaries.yaml)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.rules import Document
from tests.rules.conftest import DATA, EngineFactory

CASES = yaml.safe_load((DATA / "boundaries.yaml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_boundary(make_engine: EngineFactory, case: dict[str, Any]) -> None:
    query = case["term"].replace("'", "''")
    engine = make_engine(f"""
        rules:
          - id: probe
            event: probe
            severity: info
            within: document
            query: '{query}'
        """)
    fired = bool(engine.match(Document(id="1", text=case["text"])))
    assert fired is case["match"]


def test_evidence_span_covers_the_suffixed_word(make_engine: EngineFactory) -> None:
    engine = make_engine("""
        rules:
          - {id: probe, event: probe, severity: info, within: document, query: اعدام}
        """)
    text = "موج اعدامها"
    [found] = engine.match(Document(id="1", text=text))
    assert [text[start:end] for start, end in found.spans] == ["اعدامها"]
