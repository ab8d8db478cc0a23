"""The alert queue (facets, saved filters, "new since I last looked", live updates), the alert page, and
triage: acknowledge, escalate, dismiss with a reason (the same ``monitor.alerts.lifecycle`` the CLI calls)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from config.errors import AlertError
from crawler.evidence import export_items
from monitor.alerts.lifecycle import acknowledge, dismiss, escalate
from monitor.console.deps import RowId, back, checked_form, is_htmx, needs, render, state
from monitor.console.detail import alert_detail
from monitor.console.queue import query_values, queue_filter, queue_page, queue_rows
from monitor.console.security import Viewer
from monitor.console.users import mark_seen, new_feed_token
from storage import console_repo as repo
from storage.console_models import SavedFilter
from storage.console_repo import STATE_GROUPS
from storage.crawl_repo import alert_item_ids
from storage.models import Alert

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(needs("viewer"))]
Analyst = Annotated[Viewer, Depends(checked_form("analyst"))]
Poster = Annotated[Viewer, Depends(checked_form("viewer"))]


def _queue(request: Request, found: Viewer, template: str) -> HTMLResponse:
    try:
        queue = queue_filter(request.query_params, seen_alert_id=found.seen_alert_id)
    except AlertError as exc:
        raise HTTPException(400, str(exc)) from None
    offset = max(0, int(request.query_params.get("offset", "0") or 0))
    with state(request).read() as session:
        page = queue_page(session, queue, seen_alert_id=found.seen_alert_id, offset=offset,
                          with_facets=template == "queue.html")
        filters = repo.saved_filters(session, found.user_id)
        values = query_values(queue)
        return render(request, template, found, page=page, filters=filters, values=values,
                      query=urlencode(values), offset=offset, states=list(STATE_GROUPS))


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/alerts", status_code=303)


@router.get("/alerts", response_class=HTMLResponse)
def alert_queue(request: Request, found: Reader) -> HTMLResponse:
    return _queue(request, found, "queue.html")


@router.get("/alerts/rows", response_class=HTMLResponse)
def alert_rows(request: Request, found: Reader) -> HTMLResponse:
    """The queue's rows alone: the open queue fetches them every ``web.refresh`` (HTMX polling)."""
    return _queue(request, found, "queue_rows.html")


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: RowId, found: Reader) -> HTMLResponse:
    current = state(request)
    with current.read() as session:
        if (detail := alert_detail(session, alert_id, current.host.rules)) is None:
            raise HTTPException(404, f"no alert {alert_id}")
        return render(request, "alert.html", found, detail=detail, alert=detail.alert)


def _triage(request: Request, alert_id: RowId, found: Viewer, action: str, *, reason: str = "", note: str = "",
            view: str = "") -> Response:
    try:
        with state(request).write() as session:
            if action == "acknowledge":
                alert = acknowledge(session, alert_id, actor=found.name)
            elif action == "escalate":
                alert = escalate(session, alert_id, actor=found.name, note=note)
            else:
                alert = dismiss(session, alert_id, reason=reason, actor=found.name)
            state_after = alert.state
    except AlertError as exc:
        if is_htmx(request):
            return HTMLResponse(f"{exc}", status_code=409)  # plain text: htmx shows it in the row (escaped)
        raise HTTPException(409, str(exc)) from None
    if not is_htmx(request):
        return back(request, f"/alerts/{alert_id}")
    if view in STATE_GROUPS and state_after not in STATE_GROUPS[view]:
        return HTMLResponse("")  # the row leaves this view of the queue
    with state(request).read() as session:
        row = queue_rows(session, [session.get_one(Alert, alert_id)], seen_alert_id=found.seen_alert_id)[0]
        return render(request, "queue_row.html", found, row=row, values={"state": view})


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge_alert(request: Request, alert_id: RowId, found: Analyst,
                      view: Annotated[str, Form()] = "") -> Response:
    return _triage(request, alert_id, found, "acknowledge", view=view)


@router.post("/alerts/{alert_id}/escalate")
def escalate_alert(request: Request, alert_id: RowId, found: Analyst, note: Annotated[str, Form()] = "",
                   view: Annotated[str, Form()] = "") -> Response:
    return _triage(request, alert_id, found, "escalate", note=note, view=view)


@router.post("/alerts/{alert_id}/dismiss")
def dismiss_alert(request: Request, alert_id: RowId, found: Analyst, reason: Annotated[str, Form()] = "",
                  view: Annotated[str, Form()] = "") -> Response:
    return _triage(request, alert_id, found, "dismiss", reason=reason, view=view)


@router.post("/alerts/seen")
def queue_seen(request: Request, found: Poster) -> Response:
    with state(request).write() as session:
        mark_seen(session, found.user_id)
    return back(request, "/alerts")


@router.get("/alerts/{alert_id}/evidence.warc.gz")
def alert_evidence(request: Request, alert_id: RowId, found: Reader) -> Response:
    """Every kept response behind the alert as one WARC (what ``tocsin evidence export --alert`` writes)."""
    with state(request).read() as session:
        ids = alert_item_ids(session, alert_id)
        if not ids:
            raise HTTPException(404, f"alert {alert_id} has no items with evidence")
        return warc_response(session, ids, f"tocsin-alert-{alert_id}.warc.gz")


def warc_response(session: Session, item_ids: list[int], filename: str) -> FileResponse:
    """The items' kept responses as a WARC download (written to a temporary file, deleted once sent)."""
    handle = tempfile.NamedTemporaryFile(prefix="tocsin-", suffix=".warc.gz", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    export_items(session, item_ids, path)
    return FileResponse(path, media_type="application/warc", filename=filename,
                        background=BackgroundTask(path.unlink, missing_ok=True))


# --- saved filters and their feeds -------------------------------------------------------------------


@router.post("/filters")
def save_filter(request: Request, found: Poster, name: Annotated[str, Form()] = "",
                query: Annotated[str, Form()] = "") -> Response:
    name = " ".join(name.split())[:100]
    if not name:
        raise HTTPException(400, "give the filter a name")
    values = dict(parse_qsl(query))
    try:
        queue_filter(values)
    except AlertError as exc:
        raise HTTPException(400, str(exc)) from None
    with state(request).write() as session:
        saved = repo.saved_filter(session, found.user_id, name)
        if saved is None:
            session.add(SavedFilter(user_id=found.user_id, name=name, query=values))
        else:
            saved.query = values
        repo.add_audit(session, actor=found.name, action="filter.save", target=name, detail=values)
    return RedirectResponse(f"/alerts?{urlencode(values)}", status_code=303)


def _own_filter(session: Session, filter_id: RowId, found: Viewer) -> SavedFilter:
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != found.user_id:
        raise HTTPException(404, f"no saved filter {filter_id} of yours")
    return saved


@router.post("/filters/{filter_id}/delete")
def delete_filter(request: Request, filter_id: RowId, found: Poster) -> Response:
    with state(request).write() as session:
        saved = _own_filter(session, filter_id, found)
        repo.add_audit(session, actor=found.name, action="filter.delete", target=saved.name)
        session.delete(saved)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/filters/{filter_id}/feed", response_class=HTMLResponse)
def filter_feed(request: Request, filter_id: RowId, found: Poster) -> HTMLResponse:
    """A new feed address for the filter (shown once; the old one stops working)."""
    with state(request).write() as session:
        saved = _own_filter(session, filter_id, found)
        token = new_feed_token(session, saved, actor=found.name)
        name = saved.name
    base = state(request).host.config.settings.web
    origin = (base.public_url.rstrip("/") if base and base.public_url else str(request.base_url).rstrip("/"))
    url = f"{origin}/feeds/{filter_id}.atom?{urlencode({'token': token})}"
    return render(request, "feed_token.html", found, name=name, url=url)
