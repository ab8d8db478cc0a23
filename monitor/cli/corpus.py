"""``tocsin corpus``: labelled passages for ``tocsin rules eval``: add new ones to the tuning/check split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from config.errors import CorpusError
from monitor.alerts.tuning import read_corpus
from monitor.cli.common import console, err_console
from monitor.rules.corpus import corpus_part

corpus_app = typer.Typer(help="Labelled passages for measuring the rules.", no_args_is_help=True)
PARTS = ("tuning", "check")


def _fail(message: str) -> typer.Exit:
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    return typer.Exit(2)


@corpus_app.command("split")
def split(
    source: Annotated[Path, typer.Argument(help="new labelled passages (JSON lines)")],
    into: Annotated[Path, typer.Option("--into", help="the corpus directory holding tuning.jsonl and check.jsonl")],
) -> None:
    """Append new passages to the tuning or check part their page address hashes to (ids must be new)."""
    try:
        rows = read_corpus(source)
        existing = {row.id for part in PARTS if (into / f"{part}.jsonl").exists()
                    for row in read_corpus(into / f"{part}.jsonl")}
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    clashes = sorted({row.id for row in rows} & existing)
    if clashes:
        raise _fail(f"{source}: ids already in {into}: {', '.join(clashes[:10])}")
    if missing := [row.id for row in rows if not row.url]:
        raise _fail(f"{source}: passages without a url cannot be split: {', '.join(missing[:10])}")
    lines = {row.id: line for row, line in zip(rows, _object_lines(source), strict=True)}
    counts: Counter[str] = Counter()
    into.mkdir(parents=True, exist_ok=True)
    for part in PARTS:
        chosen = [row for row in rows if corpus_part(row.url) == part]
        if chosen:
            with (into / f"{part}.jsonl").open("a", encoding="utf-8") as out:
                for row in chosen:
                    out.write(lines[row.id] + "\n")
            counts[part] = len(chosen)
    console.print(f"added {counts['tuning']} passages to {into / 'tuning.jsonl'}, "
                  f"{counts['check']} to {into / 'check.jsonl'}")


def _object_lines(path: Path) -> list[str]:
    """The non-blank lines of a JSON-lines file, re-serialised in one style (key order kept)."""
    return [json.dumps(json.loads(line), ensure_ascii=False) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def register(app: typer.Typer) -> None:
    """Mount the ``corpus`` group on the ``tocsin`` CLI."""
    app.add_typer(corpus_app, name="corpus")
