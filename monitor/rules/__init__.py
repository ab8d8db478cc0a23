"""Tocsin's rules engine: watch criteria in YAML, matched against English and Persian text.

Pure code (no database, no network). The language is documented in docs/rules.md.

    engine = RuleEngine.load(rule_files, watchlist_files)   # raises config.errors.ConfigError
    for found in engine.match(Document(id="1", text=..., title=...)):
        found.rule_id, found.event, found.severity, found.entities, found.spans
"""

from __future__ import annotations

from monitor.rules.backtest import BacktestReport, Change, backtest
from monitor.rules.engine import Document, Explanation, Match, RuleEngine, RuleTrace, guess_language
from monitor.rules.examples import ExampleResult, run_examples
from monitor.rules.extract import ENTITY_KEYS
from monitor.rules.normalize import NormalizedText, normalize
from monitor.rules.paths import DEFAULT_CONFIG_DIR, config_files, default_engine, yaml_files

__all__ = [
    "DEFAULT_CONFIG_DIR",
    "ENTITY_KEYS",
    "BacktestReport",
    "Change",
    "Document",
    "ExampleResult",
    "Explanation",
    "Match",
    "NormalizedText",
    "RuleEngine",
    "RuleTrace",
    "backtest",
    "config_files",
    "default_engine",
    "guess_language",
    "normalize",
    "run_examples",
    "yaml_files",
]
