"""backtest(): what a rule change would newly fire on, and what would stop firing."""

from __future__ import annotations

from monitor.rules import Document, backtest
from tests.rules.conftest import EngineFactory

OLD = """
rules:
  - {id: hangings, event: execution, severity: warning, query: hanged}
  - {id: transfers, event: transfer, severity: warning, query: 'transfer* AND prison'}
"""
NEW = """
rules:
  - {id: hangings, event: execution, severity: warning, query: 'hanged OR executed'}
  - {id: transfers, event: transfer, severity: warning, query: 'transfer* AND prison AND NOT money'}
"""
DOCUMENTS = [
    Document(id="1", text="Two men were hanged."),
    Document(id="2", text="Three men were executed.", title="Executions"),
    Document(id="3", text="His family transferred money to the prison account."),
    Document(id="4", text="Nothing happened."),
]


def test_backtest_reports_both_directions(make_engine: EngineFactory) -> None:
    old, new = make_engine(OLD), make_engine(NEW)
    report = backtest(old, new, iter(DOCUMENTS))
    assert report.documents == 4 and report.unchanged == 1 and report.changed
    assert [(c.document_id, c.rule_id, c.title) for c in report.newly_firing] == [
        ("2", "hangings", "Executions")
    ]
    assert [(c.document_id, c.rule_id, c.event) for c in report.no_longer_firing] == [
        ("3", "transfers", "transfer")
    ]


def test_same_rules_change_nothing(make_engine: EngineFactory) -> None:
    engine = make_engine(OLD)
    report = backtest(engine, engine, DOCUMENTS)
    assert not report.changed and report.unchanged == 2
