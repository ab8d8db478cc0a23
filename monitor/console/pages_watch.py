"""Cases (each watched person's ladder level and timeline), trends (counts against the baseline, as SVG) and
sources (health, last success, errors, next run): what ``tocsin cases``, ``tocsin trends`` and ``tocsin
status`` show."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from config.errors import UnknownSeries
from monitor.console.deps import needs, render, state
from monitor.console.security import Viewer
from monitor.messages.text import case_place, safe_href
from storage.trends_repo import case_events, case_files, find_case_file

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(needs("viewer"))]
MAX_BINS = 365


@router.get("/cases", response_class=HTMLResponse)
def cases(request: Request, found: Reader, at_risk: bool = False) -> HTMLResponse:
    with state(request).read() as session:
        rows = case_files(session, min_rank=2 if at_risk else 0)
        return render(request, "cases.html", found, cases=rows, at_risk=at_risk)


def event_sources(event: Any) -> list[dict[str, Any]]:
    """A case event's reports, each with a link fit for an href (or none)."""
    return [{**source, "href": safe_href(str(source.get("url") or ""))} for source in event.sources
            if isinstance(source, dict)]


@router.get("/cases/view", response_class=HTMLResponse)
def case_page(request: Request, found: Reader, person: str) -> HTMLResponse:
    with state(request).read() as session:
        case = find_case_file(session, person)
        if case is None:
            raise HTTPException(404, f"no case file for {person!r}")
        events = [(event, case_place(event.details), event_sources(event)) for event in
                  case_events(session, case.person)]
        return render(request, "case.html", found, case=case, events=events)


def _as_of(value: str) -> datetime:
    """The end of the day ``value`` (``2025-07-31``), or now."""
    if not value:
        return datetime.now(UTC)
    try:
        return datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
    except ValueError:
        raise HTTPException(400, f"{value!r} is not a date (2025-07-31)") from None


def _trend(request: Request, series: str | None, scope: str | None, last: int, until: str) -> Any:
    current = state(request)
    with current.read() as session:
        return current.services.trend_view(session, series or None, scope or None, max(1, min(last, MAX_BINS)),
                                           _as_of(until))


@router.get("/trends", response_class=HTMLResponse)
def trends(request: Request, found: Reader, series: str = "", scope: str = "", last: int = 60,
           until: str = "") -> HTMLResponse:
    known = state(request).services.trend_series()
    view, error = None, ""
    try:
        view = _trend(request, series, scope, last, until)
    except UnknownSeries as exc:
        error = str(exc)
    chart = "/trends/chart.svg?" + urlencode({"series": series, "scope": scope, "last": last, "until": until})
    return render(request, "trends.html", found, known=known, view=view, error=error, series=series, scope=scope,
                  last=last, until=until, chart=chart)


@router.get("/trends/chart.svg")
def trend_chart(request: Request, found: Reader, series: str = "", scope: str = "", last: int = 60,
                until: str = "") -> Response:
    try:
        view = _trend(request, series, scope, last, until)
    except UnknownSeries as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(state(request).services.trend_svg(view), media_type="image/svg+xml",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, found: Reader) -> HTMLResponse:
    current = state(request)
    with current.read() as session:
        rows = current.services.source_rows(session)
    configured = {s.id: s for s in current.host.config.sources}
    return render(request, "sources.html", found, rows=rows, configured=configured)
