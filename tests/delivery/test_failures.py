"""Which failed sends are given up at once: the verdict on what Apprise logged, table-driven."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.delivery.failures import CLASSIFIERS, classify

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "alerts" / "delivery_failures.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_failure_verdict(case: dict[str, Any]) -> None:
    verdict = classify(case["kind"], case["messages"])
    assert verdict.permanent is case["permanent"]
    if case["permanent"]:
        assert verdict.reason is not None
        for words in case["says"]:
            assert words in verdict.reason
    else:
        assert verdict.reason is None


def test_every_channel_kind_with_a_classifier_has_cases() -> None:
    assert set(CLASSIFIERS) <= {case["kind"] for case in CASES}
