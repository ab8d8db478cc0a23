"""Running the examples written inside rule files, like doc tests: ``tocsin rules test``.

``run_examples(engine)`` is a function of an engine, not its method: the engine never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config.rules import RuleExample
from monitor.rules.engine import Document, Match, RuleEngine


@dataclass(frozen=True)
class ExampleResult:
    rule_id: str
    where: str  # file:line of the rule
    kind: str  # "match" or "no_match"
    index: int
    text: str
    passed: bool
    detail: str  # why it failed (or what fired)


def _document(example: RuleExample, rule_id: str, kind: str, index: int) -> Document:
    return Document(
        id=f"{rule_id}:{kind}[{index}]",
        text=example.text,
        title=example.title,
        lang=example.lang,
        source=example.source,
        tags=frozenset(example.tags),
    )


def _entity_mismatch(match: Match, expected: dict[str, Any]) -> str | None:
    for key, wanted in expected.items():
        got = match.entities.get(key)
        if isinstance(wanted, list) and isinstance(got, list):
            missing = [item for item in wanted if item not in got]
            if missing:
                return f"entities.{key} lacks {missing} (got {got})"
        elif got != wanted:
            return f"entities.{key} is {got!r}, expected {wanted!r}"
    return None


def run_examples(engine: RuleEngine, rule_ids: Sequence[str] | None = None) -> list[ExampleResult]:
    """Evaluate every rule's examples (disabled rules too: their examples document them)."""
    results: list[ExampleResult] = []
    for rule in engine.rules:
        if rule_ids is not None and rule.id not in rule_ids:
            continue
        for kind, examples in (
            ("match", rule.spec.examples.match),
            ("no_match", rule.spec.examples.no_match),
        ):
            for index, example in enumerate(examples):
                found, reason = engine.match_rule(rule.id, _document(example, rule.id, kind, index))
                if kind == "match":
                    problem = reason if found is None else _entity_mismatch(found, example.entities)
                    passed = problem is None
                    detail = "fired" if passed else (problem or "")
                else:
                    passed = found is None
                    detail = reason if passed else f"fired on: {_evidence(example.text, found)}"
                results.append(
                    ExampleResult(rule.id, rule.where, kind, index, example.text, passed, detail)
                )
    return results


def _evidence(text: str, found: Match | None) -> str:
    if found is None:
        return ""
    pieces = [text[start:end] for start, end in found.spans] or ["(title)"]
    return ", ".join(repr(piece) for piece in pieces[:5])
