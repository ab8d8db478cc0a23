"""``tocsin rules eval``: the rules measured on a labelled corpus; the score table and, on request, every
error with the rule that fired or the nearest miss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from config.errors import CorpusError
from monitor.alerts.tuning import read_corpus
from monitor.cli.rules import (
    ConfigDirOption,
    RulesOption,
    WatchlistsOption,
    _fail,
    console,
    err_console,
    load_engine,
)
from monitor.rules import RuleEngine
from monitor.rules.corpus import EvalReport, Outcome, evaluate_corpus


# --------------------------------------------------------------------------------------------- eval
def eval_corpus(
    corpus: Annotated[Path, typer.Argument(help="a labelled corpus: JSON lines with labels, optional_labels, lang")],
    errors: Annotated[
        bool, typer.Option("--errors", help="list each false positive and false negative, with why")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object, for scripts")] = False,
    min_f1: Annotated[
        float | None, typer.Option("--min-f1", help="exit 1 when the macro-F1 is below this")
    ] = None,
    config: ConfigDirOption = None,
    rules: RulesOption = None,
    watchlists: WatchlistsOption = None,
) -> None:
    """Measure the rules on a labelled corpus: precision, recall and F1 per event type and language."""
    try:
        rows = read_corpus(corpus)
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    engine = load_engine(config, rules, watchlists)
    report = evaluate_corpus(engine, rows)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print_report(report, console, title=str(corpus))
        if errors:
            print_errors(engine, report, console)
    if min_f1 is not None and report.macro_f1() < min_f1:
        err_console.print(Text(f"macro-F1 {report.macro_f1():.3f} is below --min-f1 {min_f1:.3f}", style="bold red"))
        raise typer.Exit(1)


def print_report(report: EvalReport, out: Console, *, title: str) -> None:
    """Per event type and language: precision, recall, F1 and the counts behind them."""
    table = Table(title=f"{title}: {len(report.outcomes)} passages")
    for column in ("event", "lang"):
        table.add_column(column)
    for column in ("P", "R", "F1", "tp", "fp", "fn"):
        table.add_column(column, justify="right")
    scopes: list[str | None] = [*report.languages, None]
    for event in report.events:
        for scope in scopes:
            counts = report.total(event, scope)
            if scope is not None and not counts.support and not counts.fp:
                continue
            style = "bold" if scope is None else ""
            table.add_row(
                Text(event if scope == scopes[0] or len(scopes) == 2 else ""),
                Text(scope or "all", style=style),
                Text(f"{counts.precision:.2f}", style=_grade(counts.precision)),
                Text(f"{counts.recall:.2f}", style=_grade(counts.recall)),
                Text(f"{counts.f1:.2f}", style=f"bold {_grade(counts.f1)}" if scope is None else _grade(counts.f1)),
                str(counts.tp),
                str(counts.fp),
                str(counts.fn),
                end_section=scope is None,
            )
    out.print(table)
    by_language = ", ".join(f"{lang} {report.macro_f1(lang):.3f}" for lang in report.languages)
    out.print(Text(f"macro-F1 {report.macro_f1():.3f} ({by_language})", style="bold"))
    negatives = sum(1 for o in report.outcomes if not o.row.labels)
    fired = report.hard_negatives_fired
    line = f"hard negatives: {len(fired)} of {negatives} fired"
    if fired:
        line += ": " + ", ".join(f"{o.row.id} ({'/'.join(o.false_positives)})" for o in fired)
    out.print(Text(line))


def _grade(value: float) -> str:
    return "green" if value >= 0.88 else "yellow" if value >= 0.7 else "red"


def print_errors(engine: RuleEngine, report: EvalReport, out: Console) -> None:
    """Each false positive with the rules that fired, each false negative with the nearest miss."""
    errors = report.errors
    out.print(Text(f"\n{len(errors)} passages with errors", style="bold"))
    for outcome in errors:
        _print_error(engine, outcome, out)


def _print_error(engine: RuleEngine, outcome: Outcome, out: Console) -> None:
    row = outcome.row
    text = " ".join(f"{row.title or ''} | {row.text}".split()) if row.title else " ".join(row.text.split())
    out.print(Text.assemble((f"{row.id} ", "bold"), (f"[{row.lang}] ", "dim"), text[:300]))
    for event in outcome.false_positives:
        rules = ", ".join(outcome.fired[event])
        out.print(Text.assemble(("  FP ", "bold red"), f"{event}: fired by {rules}"))
    if outcome.false_negatives:
        explanation = engine.explain(row.document())
        for event in outcome.false_negatives:
            misses = [t for t in explanation.near_misses if t.event == event]
            if misses:
                nearest = misses[0]
                why = f"nearest miss {nearest.rule_id}: {nearest.reason}"
                if nearest.failed_clause:
                    why += f" [{nearest.failed_clause[:80]}]"
            else:
                why = "no rule of this event saw any of its terms"
            out.print(Text.assemble(("  FN ", "bold yellow"), f"{event}: {why}"))
    if row.note:
        out.print(Text(f"  note: {row.note}", style="dim"))
