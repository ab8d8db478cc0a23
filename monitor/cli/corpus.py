"""``tocsin corpus``: labelled passages for ``tocsin rules eval``: add new ones to the tuning/check split, or
export the team's own judged alerts as a corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from config.errors import CorpusError
from monitor.alerts.tuning import export_corpus, read_corpus
from monitor.cli.common import ConfigOption, console, err_console, open_app
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


@corpus_app.command("export")
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="the JSON-lines file to write")],
    since: Annotated[str | None, typer.Option("--since", help="only alerts seen in this period, e.g. 90d")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite OUTPUT if it exists")] = False,
    config: ConfigOption = None,
) -> None:
    """Write the items behind your alerts as a labelled corpus: acknowledged alerts are positives,
    dismissed ones negatives, unjudged ones optional labels. Measure rule changes on it with `rules eval`."""
    from datetime import UTC, datetime

    from config.types import parse_duration

    if output.exists() and not force:
        raise _fail(f"{output} exists; pass --force to overwrite it")
    try:
        start = datetime.now(UTC) - parse_duration(since) if since else None
    except ValueError as exc:
        raise _fail(f"--since: {exc}") from None
    with open_app(config, read_only=True) as app, app.database.read() as session:
        rows = export_corpus(session, since=start)
    try:
        with output.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row.model_dump(), ensure_ascii=False) + "\n")
    except OSError as exc:
        raise _fail(f"{output}: {exc.strerror or exc}") from None
    labels = Counter(label for row in rows for label in row.labels)
    negatives = sum(1 for row in rows if not row.labels and not row.optional_labels)
    unjudged = sum(1 for row in rows if row.optional_labels)
    console.print(f"wrote {len(rows)} passages to {output}: "
                  + (", ".join(f"{n} {event}" for event, n in sorted(labels.items())) or "no confirmed events")
                  + f"; {negatives} dismissed only (negatives); {unjudged} with events nobody has judged yet "
                  "(optional labels)", highlight=False, soft_wrap=True)


def _object_lines(path: Path) -> list[str]:
    """The non-blank lines of a JSON-lines file, re-serialised in one style (key order kept)."""
    return [json.dumps(json.loads(line), ensure_ascii=False) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def register(app: typer.Typer) -> None:
    """Mount the ``corpus`` group on the ``tocsin`` CLI."""
    app.add_typer(corpus_app, name="corpus")
