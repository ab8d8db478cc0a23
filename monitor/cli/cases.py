"""Early warning over time: ``tocsin cases list|show|proposals``, ``tocsin trends`` and ``tocsin analyze``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from config.errors import ConfigError, UnknownSeries
from monitor.cli.common import ConfigOption, JsonOption, console, fail, open_app, print_json, short
from monitor.messages.text import case_place
from monitor.trends.analysis import analyze, early_warning_settings
from monitor.trends.view import TrendView, trend_view
from storage.models import CaseEvent, CaseFile
from storage.trends_repo import case_events, case_files, find_case_file, proposals

cases_app = typer.Typer(help="Case files of watched people: risk level and timeline.", no_args_is_help=True)

NowOption = Annotated[str | None, typer.Option("--now", help="judge as of this ISO time (default: now)")]
LEVEL_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--now {value!r} is not an ISO date or time (e.g. 2025-07-21 or 2025-07-21T12:00+03:30)") \
            from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def case_dict(case: CaseFile) -> dict[str, Any]:
    return {"person": case.person, "risk_level": case.risk_level, "severity": case.severity,
            "level_since": case.level_since, "peak_level": case.peak_level, "events": case.event_count,
            "first_event_at": case.first_event_at, "last_event_at": case.last_event_at,
            "last_alert_id": case.last_alert_id}


def event_dict(event: CaseEvent) -> dict[str, Any]:
    return {"at": event.occurred_at, "event_type": event.event_type, "severity": event.severity,
            "details": event.details, "sources": event.sources}


@cases_app.command("list")
def cases_list(
    config: ConfigOption = None,
    at_risk: Annotated[bool, typer.Option("--at-risk", help="only people above the lowest rung")] = False,
    as_json: JsonOption = False,
) -> None:
    """Watched people with a case file, highest risk first."""
    with open_app(config, read_only=True) as app, app.database.read() as session:
        rows = case_files(session, min_rank=2 if at_risk else 0)
        if as_json:
            print_json([case_dict(c) for c in rows])
            return
        table = Table("person", "risk", "since", "peak", "events", "last event", "alert")
        for case in rows:
            style = LEVEL_STYLE.get(case.severity or "", "")
            level = f"[{style}]{escape(case.risk_level)}[/]" if style else escape(case.risk_level)
            table.add_row(escape(case.person), level, _day(case.level_since), escape(case.peak_level),
                          str(case.event_count), _day(case.last_event_at),
                          str(case.last_alert_id) if case.last_alert_id else "")
        console.print(table)
        if not rows:
            console.print("no case files yet (they are written by `tocsin analyze` and the service)")


@cases_app.command("show")
def cases_show(person: str, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """A person's risk level and timeline, each event with the outlets that reported it."""
    with open_app(config, read_only=True) as app, app.database.read() as session:
        case = find_case_file(session, person)
        if case is None:
            raise fail(f"no case file for {person!r} (see `tocsin cases list`)")
        events = case_events(session, case.person)
        if as_json:
            print_json(case_dict(case) | {"timeline": [event_dict(e) for e in events]})
            return
        console.print(f"[bold]{escape(case.person)}[/]: {escape(case.risk_level)} "
                      f"(since {_day(case.level_since) or '-'}, peak {escape(case.peak_level)}), "
                      f"{case.event_count} events", highlight=False)
        table = Table("date", "event", "where", "sources")
        for event in events:
            sources = "\n".join(
                f"{s.get('source_id')} [{s.get('lang') or '?'}] {short(str(s.get('title', '')), 60)}\n"
                f"  {s.get('url', '')}" for s in event.sources)
            table.add_row(_day(event.occurred_at), escape(event.event_type.replace("_", " ")),
                          escape(case_place(event.details)), escape(sources))
        console.print(table)


@cases_app.command("proposals")
def cases_proposals(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Names not on the watchlist that keep appearing in death-sentence or transfer reports."""
    with open_app(config, read_only=True) as app, app.database.read() as session:
        rows = proposals(session)
        if as_json:
            print_json([{"name": p.name, "events": p.event_types, "items": p.item_ids, "sources": p.source_ids,
                         "first_seen_at": p.first_seen_at, "last_seen_at": p.last_seen_at} for p in rows])
            return
        table = Table("name", "events", "items", "sources", "first seen", "last seen")
        for row in rows:
            table.add_row(escape(row.name), escape(", ".join(row.event_types)), str(len(row.item_ids)),
                          escape(", ".join(row.source_ids)), _day(row.first_seen_at), _day(row.last_seen_at))
        console.print(table)


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def print_view(view: TrendView) -> None:
    unit = view.spec.bin
    scope = "" if view.spec.scope == "country" else f" in {view.scope_name} ({view.spec.scope})"
    console.print(f"[bold]{escape(view.spec.title)}{escape(scope)}[/] per {unit}; window "
                  f"{view.spec.window_bins} {unit}s, baseline {view.spec.baseline_bins} {unit}s, "
                  f"alpha {view.spec.thresholds.alpha:g}", highlight=False)
    table = Table(unit, "count", f"{view.spec.window_bins}-{unit} total", "expected", "alert at", "p", "alert")
    for row in view.rows:
        mark = "[bold red]SURGE[/]" if row.alert else ""
        p_value = f"{row.p_value:.2g}" if row.p_value is not None else ""
        table.add_row(str(row.start), _fmt(row.count), _fmt(row.window), _fmt(row.expected),
                      str(row.limit) if row.limit is not None else "", p_value, mark)
    console.print(table)


def trends(
    config: ConfigOption = None,
    series: Annotated[str | None, typer.Option("--series", help="series id (default: the first)")] = None,
    scope: Annotated[str | None, typer.Option("--scope", help="prison, place or province name")] = None,
    bins: Annotated[int, typer.Option("--last", help="how many days (weeks) to show", min=1)] = 30,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG chart to this file")] = None,
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """A surge series as a table (or a chart): counts against the baseline, with alerts marked."""
    moment = _now(now)
    with open_app(config, read_only=True) as app:
        settings = early_warning_settings(app.config)
        with app.database.read() as session:
            try:
                view = trend_view(session, settings, series_id=series, scope=scope, bins=bins, now=moment)
            except UnknownSeries as exc:
                raise fail(str(exc)) from None
    if plot is not None:
        from monitor.trends.chart import plot_trend

        plot_trend(view, plot)
        marked = sum(1 for r in view.rows if r.alert)
        drawn = f"{len(view.rows)} {view.unit}{'' if len(view.rows) == 1 else 's'}"
        console.print(f"wrote {escape(str(plot))} ({drawn}, {marked} "
                      f"alert{'' if marked == 1 else 's'} marked)", highlight=False)
        return
    if as_json:
        print_json({"series": view.spec.id, "scope": view.scope_name, "bin": view.unit,
                    "rows": [row.__dict__ | {"start": row.start.isoformat()} for row in view.rows]})
        return
    print_view(view)


def analyze_command(config: ConfigOption = None, now: NowOption = None, as_json: JsonOption = False) -> None:
    """Run the early-warning analysis now (surges, ladders, case files, proposals); safe to repeat."""
    moment = _now(now)
    with open_app(config) as app:
        try:
            settings = early_warning_settings(app.config)
        except ConfigError as exc:
            raise fail(str(exc)) from None
        with app.database.write() as session:
            raised = analyze(session, app.config, now=moment, settings=settings)
    if as_json:
        print_json([{"alert": r.alert_id, "kind": r.kind, "severity": r.severity, "title": r.title,
                     "at": r.moment, "channels": list(r.deliveries)} for r in raised])
        return
    for alert in raised:
        style = LEVEL_STYLE.get(alert.severity, "")
        console.print(f"[{style}]{alert.kind}[/] #{alert.alert_id} {escape(alert.title)}"
                      f"{' -> ' + ', '.join(alert.deliveries) if alert.deliveries else ''}", highlight=False)
    console.print(f"{len(raised)} new alerts")


def register(app: typer.Typer) -> None:
    app.add_typer(cases_app, name="cases")
    app.command("trends")(trends)
    app.command("analyze")(analyze_command)
