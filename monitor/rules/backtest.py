"""Comparing two rule sets over the same documents: what would newly fire, what would stop firing.

Pure: the caller supplies the documents (stored items, a JSON-lines file, a demo corpus).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.rules.engine import Document, RuleEngine


@dataclass(frozen=True)
class Change:
    document_id: str
    rule_id: str
    event: str
    severity: str
    title: str
    dismissed_alert: int | None = None  # the match that stops firing was in this dismissed alert


@dataclass
class BacktestReport:
    documents: int = 0
    unchanged: int = 0  # (document, rule) pairs firing under both rule sets
    newly_firing: list[Change] = field(default_factory=list)
    no_longer_firing: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.newly_firing or self.no_longer_firing)

    @property
    def avoided_dismissals(self) -> list[Change]:
        """Matches that analysts dismissed as false positives and the new rules no longer make."""
        return [change for change in self.no_longer_firing if change.dismissed_alert is not None]


def backtest(
    old_engine: RuleEngine, new_engine: RuleEngine, documents: Iterable[Document]
) -> BacktestReport:
    """Match every document with both engines and report the differences by (document, rule)."""
    report = BacktestReport()
    for document in documents:
        report.documents += 1
        before = {m.rule_id: m for m in old_engine.match(document)}
        after = {m.rule_id: m for m in new_engine.match(document)}
        report.unchanged += len(before.keys() & after.keys())
        title = document.title or document.text[:80]
        for rule_id in sorted(after.keys() - before.keys()):
            found = after[rule_id]
            report.newly_firing.append(
                Change(document.id, rule_id, found.event, found.severity, title)
            )
        for rule_id in sorted(before.keys() - after.keys()):
            found = before[rule_id]
            report.no_longer_firing.append(
                Change(document.id, rule_id, found.event, found.severity, title)
            )
    return report
