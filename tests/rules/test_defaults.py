"""Shipped rules and watchlists: every file loads, every example passes, the seed's signals fire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.rules import KNOWN_EVENTS
from monitor.rules import DEFAULT_CONFIG_DIR, Document, RuleEngine, config_files, run_examples
from monitor.rules.normalize import is_persian_script

RULE_FILES, WATCHLIST_FILES = config_files(DEFAULT_CONFIG_DIR)
SEED = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds" / "000_ae400bd53cfd3518.txt"


def test_defaults_are_present() -> None:
    assert len(RULE_FILES) >= 5 and len(WATCHLIST_FILES) >= 4


@pytest.mark.parametrize("path", WATCHLIST_FILES, ids=lambda p: p.name)
def test_each_watchlist_file_loads_alone(path: Path) -> None:
    engine = RuleEngine.load([], [path])
    assert engine.watchlists


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_each_rule_file_loads_with_the_watchlists(path: Path) -> None:
    engine = RuleEngine.load([path], WATCHLIST_FILES)
    assert engine.rules


def _examples() -> list[Any]:
    engine = RuleEngine.load(RULE_FILES, WATCHLIST_FILES)
    return [
        pytest.param(result, id=f"{result.rule_id}:{result.kind}[{result.index}]")
        for result in run_examples(engine)
    ]


@pytest.mark.parametrize("result", _examples())
def test_rule_examples_pass(result: Any) -> None:
    assert result.passed, f"{result.where}: {result.text!r}: {result.detail}"


def test_every_rule_has_examples_both_ways_and_in_both_languages(engine: RuleEngine) -> None:
    for rule in engine.rules:
        examples = rule.spec.examples
        assert examples.match and examples.no_match, rule.id
        texts = [e.title + " " + e.text for e in [*examples.match, *examples.no_match]]
        assert any(is_persian_script(t) for t in texts), f"{rule.id}: no Persian example"
        assert any(not is_persian_script(t) for t in texts), f"{rule.id}: no English example"


def test_default_events_are_the_documented_ones(engine: RuleEngine) -> None:
    assert {rule.event for rule in engine.rules} <= set(KNOWN_EVENTS)


SEED_SIGNALS: dict[str, dict[str, Any]] = {  # event -> entities its match must contain
    "rhetoric": {},
    "un_statement": {},
    "death_sentence": {
        "persons": ["Farshad Etemadi-Far", "Masoud Jamei", "Alireza Mardasi"],
        "charges": ["moharebeh"],
        "courts": ["Ahvaz Revolutionary Court"],
        "branch": 1,
    },
    "review_rejected": {
        "persons": ["Behrouz Ehsani", "Mehdi Hassani"],
        "courts": ["Supreme Court"],
    },
    "transfer": {
        "persons": ["Saeed Masouri"],
        "prison_from": "Qezel Hesar Prison",
        "prison_to": "Zahedan Prison",
    },
    "execution": {"count": 1400},
}


def test_the_seed_scenario_fires_every_signal(engine: RuleEngine) -> None:
    if not SEED.exists():
        pytest.skip(f"{SEED} is absent: the shared seeds live beside the repository in CI only")
    text = SEED.read_text(encoding="utf-8")
    matches = engine.match(
        Document(id="seed", text=text, lang="en", tags=frozenset({"human_rights"}))
    )
    by_event = {m.event: m for m in matches}
    for event, entities in SEED_SIGNALS.items():
        assert event in by_event, f"{event} did not fire"
        for key, value in entities.items():
            assert by_event[event].entities[key] == value, (event, key)
    assert "arrest" not in by_event
