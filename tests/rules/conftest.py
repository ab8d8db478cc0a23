"""Fixtures for the rules engine tests: the default engine (compiled once), engines from text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from monitor.rules import RuleEngine, default_engine

DATA = Path(__file__).resolve().parents[1] / "data" / "rules"


@pytest.fixture(scope="session")
def engine() -> RuleEngine:
    """The packaged default rules and watchlists."""
    return default_engine()


EngineFactory = Callable[..., RuleEngine]


@pytest.fixture
def make_engine(tmp_path: Path) -> EngineFactory:
    """Build an engine from YAML text: ``make_engine(rules_yaml, watchlists_yaml=None)``."""

    def build(rules: str, watchlists: str | None = None) -> RuleEngine:
        rule_file = tmp_path / "rules.yaml"
        rule_file.write_text(dedent(rules), encoding="utf-8")
        lists: list[Path] = []
        if watchlists is not None:
            list_file = tmp_path / "watchlists.yaml"
            list_file.write_text(dedent(watchlists), encoding="utf-8")
            lists.append(list_file)
        return RuleEngine.load([rule_file], lists)

    return build
