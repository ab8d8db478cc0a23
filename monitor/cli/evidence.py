"""Evidence: ``tocsin evidence export (ITEM | --alert ID) -o FILE.warc.gz`` writes a standard WARC."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crawler.evidence import export_items
from monitor.cli.common import ConfigOption, JsonOption, console, fail, open_app, print_json
from storage.crawl_repo import alert_item_ids

evidence_app = typer.Typer(help="The raw responses kept as evidence.", no_args_is_help=True)


@evidence_app.command("export")
def evidence_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="the .warc.gz file to write")],
    item: Annotated[list[int] | None, typer.Argument(help="item id(s)", show_default=False)] = None,
    alert: Annotated[int | None, typer.Option("--alert", help="every item behind this alert")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export items' stored responses (every version, and the removal) as a WARC archivists can verify."""
    if bool(item) == (alert is not None):
        raise fail("give item id(s) or --alert ID (one of the two)")
    with open_app(config, read_only=True) as app, app.database.read() as session:
        try:
            ids = list(item or []) if alert is None else alert_item_ids(session, alert)
            if not ids:
                raise fail(f"alert {alert} has no items")
            report = export_items(session, ids, output)
        except LookupError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json({"file": str(output), "items": report.items, "responses": report.responses,
                    "skipped": report.skipped})
        return
    console.print(f"wrote {report.responses} response(s) for {report.items} item(s) to {output}", highlight=False)
    for reason in report.skipped:
        console.print(f"skipped: {reason}", highlight=False, markup=False)
    if not report.responses:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(evidence_app, name="evidence")
