"""``tocsin match``, ``tocsin rules explain``, ``tocsin rules test``: the rules engine in a shell.

Pure commands: they read rule/watchlist files and text, never the database. The stored-item variants
(``explain --item ID``, ``test --since 30d``) need the item store; until it is wired in, they say
so and exit with status 2. The functions they will call exist: ``monitor.rules.backtest`` and
``explain_document``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from rich.console import Console
from rich.table import Table
from rich.text import Text

from config.errors import ConfigError, InputError
from monitor.rules import (
    DEFAULT_CONFIG_DIR,
    Document,
    Explanation,
    RuleEngine,
    config_files,
    run_examples,
    yaml_files,
)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
rules_app = typer.Typer(help="Tune and test the watch rules.", no_args_is_help=True)

ConfigDirOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="TOCSIN_CONFIG",
        show_default=False,
        help="configuration directory: DIR/rules/*.yaml and DIR/watchlists/*.yaml "
        "(default: the packaged defaults)",
    ),
]
RulesOption = Annotated[
    Path | None,
    typer.Option("--rules", help="a rule file or a directory of them (overrides --config)"),
]
WatchlistsOption = Annotated[
    Path | None,
    typer.Option(
        "--watchlists", help="a watchlist file or a directory of them (overrides --config)"
    ),
]


class InputItem(BaseModel):
    """One input line: ``{"id", "text", "title"?, "lang"?, "source"?, "tags"?}`` (other keys
    ignored).
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    text: str
    title: str = ""
    lang: str | None = None
    source: str | None = None
    tags: list[str] = []

    @field_validator("id", mode="before")
    @classmethod
    def _number_ids_are_fine(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def document(self) -> Document:
        return Document(
            id=self.id,
            text=self.text,
            title=self.title or "",
            lang=self.lang,
            source=self.source,
            tags=frozenset(self.tags),
        )


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)
    return typer.Exit(code)


def resolve_files(
    config: Path | None, rules: Path | None, watchlists: Path | None
) -> tuple[list[Path], list[Path]]:
    """Rule and watchlist files from ``--config`` (or the defaults), overridden by
    ``--rules``/``--watchlists``.
    """
    directory = config or DEFAULT_CONFIG_DIR
    rule_files, watchlist_files = config_files(directory)
    if rules is not None:
        rule_files = yaml_files(rules)
    if watchlists is not None:
        watchlist_files = yaml_files(watchlists)
    return rule_files, watchlist_files


def load_engine(config: Path | None, rules: Path | None, watchlists: Path | None) -> RuleEngine:
    for path in (config, rules, watchlists):
        if path is not None and not path.exists():
            raise _fail(f"{path}: no such file or directory")
    try:
        return RuleEngine.load(*resolve_files(config, rules, watchlists))
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def read_documents(stream: TextIO) -> Iterator[Document]:
    """Documents from JSON lines; blank lines are skipped, a bad line raises InputError."""
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"input line {number}: not JSON ({exc.msg} at column {exc.colno})"
            ) from None
        if not isinstance(data, dict):
            raise InputError(
                f"input line {number}: expected a JSON object, got {type(data).__name__}"
            )
        try:
            yield InputItem.model_validate(data).document()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise InputError(f"input line {number}: {where}: {first['msg']}") from None


# -------------------------------------------------------------------------------------------- match
def match(
    input_path: Annotated[
        str, typer.Option("--input", "-i", help="JSON lines file, or - for stdin")
    ],
    config: ConfigDirOption = None,
    rules: RulesOption = None,
    watchlists: WatchlistsOption = None,
) -> None:
    """Match JSON lines {"id", "text", "title"?, "lang"?, "source"?, "tags"?}; print one JSON line
    per match: {"id", "rule", "event", "severity", "score", "entities", "spans"} (title spans:
    ["title", s, e])."""
    engine = load_engine(config, rules, watchlists)
    try:
        stream: TextIO = (
            sys.stdin if input_path == "-" else open(input_path, encoding="utf-8")  # noqa: SIM115
        )
    except OSError as exc:
        raise _fail(f"{input_path}: {exc.strerror}") from None
    out = sys.stdout
    try:
        for document in read_documents(stream):
            for found in engine.match(document):
                out.write(json.dumps(found.to_json(document.id), ensure_ascii=False) + "\n")
    except InputError as exc:
        out.flush()
        raise _fail(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise _fail(f"{input_path}: not UTF-8 (byte {exc.start})") from None
    finally:
        if stream is not sys.stdin:
            stream.close()


# ------------------------------------------------------------------------------------------ explain
def _snippet(text: str, spans: list[tuple[int, int]], width: int = 70) -> Iterator[Text]:
    """Each evidence span with some context, the span itself highlighted (text is never markup)."""
    for start, end in spans:
        left, right = max(0, start - width), min(len(text), end + width)
        line = Text("  … " if left else "  ")
        line.append(text[left:start].replace("\n", " "))
        line.append(text[start:end].replace("\n", " "), style="bold black on yellow")
        line.append(text[end:right].replace("\n", " "))
        if right < len(text):
            line.append(" …")
        yield line


def explain_document(engine: RuleEngine, document: Document, out: Console) -> Explanation:
    """Print the rules that fired on ``document`` and why, and the near misses."""
    explanation = engine.explain(document)
    if not explanation.fired:
        out.print(Text("no rule fired", style="bold"))
    for trace in explanation.fired:
        out.print(
            Text.assemble(
                ("fired ", "bold green"),
                (trace.rule_id, "bold"),
                f"  {trace.event} / {trace.severity}",
            )
        )
        for line in _snippet(document.title, trace.title_spans):
            out.print(Text("  title:") + line)
        for line in _snippet(document.text, trace.spans):
            out.print(line)
        if trace.match is not None:
            filled = {key: value for key, value in trace.match.entities.items() if value}
            if filled:
                out.print(
                    Text("  entities: " + json.dumps(filled, ensure_ascii=False), style="cyan")
                )
    if explanation.near_misses:
        table = Table(title="near misses (terms seen, rule did not fire)", show_lines=False)
        table.add_column("rule")
        table.add_column("why not")
        table.add_column("failed clause")
        for trace in explanation.near_misses:
            table.add_row(Text(trace.rule_id), Text(trace.reason), Text(trace.failed_clause or ""))
        out.print(table)
    return explanation


@rules_app.command("explain")
def explain(
    text: Annotated[str | None, typer.Option("--text", help="the text to explain")] = None,
    item: Annotated[str | None, typer.Option("--item", help="a stored item id")] = None,
    title: Annotated[str, typer.Option("--title", help="title to go with --text")] = "",
    lang: Annotated[str | None, typer.Option("--lang", help="language of --text (en, fa)")] = None,
    source: Annotated[str | None, typer.Option("--source", help="source id to pretend")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="source tag to pretend (repeat)")
    ] = None,
    config: ConfigDirOption = None,
    rules: RulesOption = None,
    watchlists: WatchlistsOption = None,
) -> None:
    """Show which rules fire on a text and why (evidence highlighted), and the near misses."""
    if (text is None) == (item is None):
        raise _fail("give exactly one of --text or --item")
    engine = load_engine(config, rules, watchlists)
    if item is not None:
        document = _stored_document(config, item)
    else:
        assert text is not None
        document = Document(
            id="text", text=text, title=title, lang=lang, source=source, tags=frozenset(tag or ())
        )
    explain_document(engine, document, console)


def _stored_document(config: Path | None, item: str) -> Document:
    from monitor.alerts.tuning import stored_document
    from monitor.cli.common import open_app

    if not item.isdigit():
        raise _fail(f"--item takes a stored item id (a number), got {item!r}")
    with open_app(config) as app, app.database.read() as session:
        document = stored_document(session, int(item))
    if document is None:
        raise _fail(f"no stored item {item} (see `tocsin items list`)")
    return document


# --------------------------------------------------------------------------------------------- test
@rules_app.command("test")
def test(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="also backtest over items stored in this period (e.g. 30d)",
        ),
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="only this rule id (repeat)")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="list passing examples too")
    ] = False,
    config: ConfigDirOption = None,
    rules: RulesOption = None,
    watchlists: WatchlistsOption = None,
) -> None:
    """Run the examples inside the rule files (like doc tests); exit 1 if any fails."""
    engine = load_engine(config, rules, watchlists)
    results = run_examples(engine, rule)
    failed = [r for r in results if not r.passed]
    table = Table(title="rule examples")
    table.add_column("rule")
    table.add_column("example")
    table.add_column("result")
    table.add_column("text")
    table.add_column("detail")
    for result in results if verbose else failed:
        table.add_row(
            Text(result.rule_id),
            Text(f"{result.kind}[{result.index}]"),
            Text("pass", style="green") if result.passed else Text("FAIL", style="bold red"),
            Text(_short(result.text)),
            Text(_short(result.detail, 120)),
        )
    if table.rows:
        console.print(table)
    rules_with_examples = len({r.rule_id for r in results})
    summary = (
        f"{len(results) - len(failed)}/{len(results)} examples passed "
        f"({rules_with_examples} of {len(engine.rules)} rules have examples)"
    )
    console.print(Text(summary, style="bold red" if failed else "bold green"))
    if since is not None:
        _backtest_stored(engine, config, since)
    if failed:
        raise typer.Exit(1)


def _backtest_stored(engine: RuleEngine, config: Path | None, since: str) -> None:
    from datetime import UTC, datetime

    from config.types import parse_duration
    from monitor.alerts.tuning import backtest_stored
    from monitor.cli.common import open_app

    try:
        start = datetime.now(UTC) - parse_duration(since)
    except ValueError as exc:
        raise _fail(f"--since: {exc}") from None
    with open_app(config) as app, app.database.read() as session:
        report = backtest_stored(session, engine, since=start)
    table = Table(title=f"backtest over {report.documents} items stored in the last {since}")
    for column in ("change", "item", "rule", "event", "title"):
        table.add_column(column)
    for change in report.newly_firing:
        table.add_row(Text("would fire", style="yellow"), change.document_id, Text(change.rule_id),
                      change.event, Text(_short(change.title)))
    for change in report.no_longer_firing:
        label = (Text(f"stops (dismissed alert #{change.dismissed_alert})", style="green")
                 if change.dismissed_alert else Text("stops firing", style="red"))
        table.add_row(label, change.document_id, Text(change.rule_id), change.event, Text(_short(change.title)))
    if table.rows:
        console.print(table)
    console.print(Text(
        f"{len(report.newly_firing)} would newly fire, {len(report.no_longer_firing)} would stop firing "
        f"({len(report.avoided_dismissals)} of them dismissed as false positives), {report.unchanged} unchanged",
        style="bold"))


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def register(app: typer.Typer) -> None:
    """Mount ``match`` and the ``rules`` group on the ``tocsin`` CLI."""
    from monitor.cli.rules_eval import eval_corpus  # it uses this module's options and engine loading

    app.command("match")(match)
    rules_app.command("eval")(eval_corpus)
    app.add_typer(rules_app, name="rules")


__all__ = [
    "InputError",
    "explain_document",
    "load_engine",
    "match",
    "read_documents",
    "register",
    "resolve_files",
    "rules_app",
]
