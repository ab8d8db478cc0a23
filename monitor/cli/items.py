"""Looking at what was collected: ``tocsin items list|show|export``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from monitor.alerts.search import excerpt, phrase_spans, search_items
from monitor.cli.common import ConfigOption, JsonOption, console, fail, open_app, print_json, short
from monitor.messages.text import first_excerpt, format_value, format_when
from storage.alerts_repo import item_matches
from storage.models import Item
from storage.repository import list_items
from storage.search_repo import SearchFilters

items_app = typer.Typer(help="Collected items (articles, posts).", no_args_is_help=True)


def item_dict(item: Item, *, with_text: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id, "source": item.source_id, "url": item.url, "title": item.title, "lang": item.lang,
        "published_at": item.published_at, "fetched_at": item.fetched_at, "version": item.version,
        "status": item.status, "sha256": item.content_sha256,
    }
    if with_text:
        data["text"] = item.text
    return data


@items_app.command("list")
def items_list(
    config: ConfigOption = None,
    source: Annotated[str | None, typer.Option(help="only this source id")] = None,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List stored items, newest first."""
    with open_app(config, read_only=True) as app, app.database.read() as session:
        items = list_items(session, source_id=source, limit=limit)
        if as_json:
            print_json([item_dict(i) for i in items])
            return
        table = Table("id", "source", "lang", "published", "title")
        for item in items:
            published = f"{item.published_at:%Y-%m-%d}" if item.published_at else ""
            table.add_row(str(item.id), item.source_id, item.lang or "", published, Text(short(item.title, 70)))
        console.print(table)


@items_app.command("show")
def items_show(item_id: int, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Show one item: metadata, text, and the rules that matched it."""
    with open_app(config, read_only=True) as app, app.database.read() as session:
        item = session.get(Item, item_id)
        if item is None:
            raise fail(f"no item {item_id}")
        matches = item_matches(session, item_id)
        data = item_dict(item, with_text=True) | {
            "matches": [{"rule": m.rule_id, "event": m.event_type, "severity": m.severity,
                         "entities": m.entities, "alert": m.alert_id} for m in matches]}
        if as_json:
            print_json(data)
            return
        # Scraped text is printed as Text: a title like "[bold]" is shown, never taken as markup.
        console.print(Text(item.title, style="bold"), highlight=False)
        console.print(Text(f"{item.url}\nsource {item.source_id} · lang {item.lang or '-'} · published "
                           f"{format_when(item.published_at) or 'unknown'} · version {item.version} · "
                           f"{item.status}"), highlight=False)
        console.print()
        console.print(item.text, highlight=False, markup=False)
        for m in matches:
            line = Text.assemble(("match ", "yellow"), f"{m.rule_id} → {m.event_type} ({m.severity})",
                                 f" · alert {m.alert_id}" if m.alert_id else "")
            console.print(line, highlight=False)
            for key, value in (m.entities or {}).items():
                if shown := format_value(value):
                    console.print(Text(f"    {key}: {shown}"), highlight=False)
            if cut := first_excerpt(item.title, item.text, list(m.spans or [])):
                console.print(Text.assemble("    “", cut.before, (cut.trigger, "bold reverse"), cut.after, "”"),
                              highlight=False)


@items_app.command("search")
def items_search(
    query: Annotated[str, typer.Argument(help='words (all must occur) or "a phrase"; Persian as the rules read it')],
    config: ConfigOption = None,
    source: Annotated[str | None, typer.Option(help="only this source id")] = None,
    lang: Annotated[str | None, typer.Option(help="only this language (en, fa)")] = None,
    limit: Annotated[int, typer.Option(help="how many, best first")] = 25,
    as_json: JsonOption = False,
) -> None:
    """Search the stored items' titles and texts (what the console's search page does)."""
    with open_app(config) as app, app.database.write() as session:
        result = search_items(session, query, filters=SearchFilters(source, lang), limit=limit)
        if as_json:
            print_json({"total": result.total, "items": [item_dict(i) for i in result.items]})
            return
        table = Table("id", "source", "lang", "published", "title", "excerpt")
        for item in result.items:
            published = f"{item.published_at:%Y-%m-%d}" if item.published_at else ""
            hit = "".join(p.text for p in excerpt(item.text, phrase_spans(item.text, result.phrases), width=40))
            table.add_row(str(item.id), Text(item.source_id), item.lang or "", published, Text(short(item.title, 60)),
                          Text(short(hit, 90)))
        console.print(table)
        console.print(f"{result.total} item(s)", highlight=False)


@items_app.command("export")
def items_export(
    config: ConfigOption = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file to write (default stdout)")] = None,
    source: Annotated[str | None, typer.Option(help="only this source id")] = None,
    limit: Annotated[int, typer.Option(help="at most this many items")] = 100_000,
) -> None:
    """Export items as JSON lines (the same shape `tocsin match --input` reads)."""
    with open_app(config, read_only=True) as app, app.database.read() as session:
        items = list_items(session, source_id=source, limit=limit)
        out = output.open("w", encoding="utf-8") if output else sys.stdout
        try:
            for item in reversed(items):
                row = {"id": str(item.id), "title": item.title, "text": item.text, "lang": item.lang,
                       "source": item.source_id, "url": item.url,
                       "published_at": item.published_at.isoformat() if item.published_at else None}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        finally:
            if output:
                out.close()
        if output:
            console.print(f"wrote {len(items)} items to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(items_app, name="items")
