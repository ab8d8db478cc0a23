"""The REST API under ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``), for scripts and other tools.

``Authorization: Bearer TOKEN`` (``tocsin users token NAME``) on every call; the token's user's role decides
what it may do, as on the pages. The same functions as the pages and the CLI answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from config.errors import AlertError, UnknownSeries
from monitor.alerts.lifecycle import acknowledge, dismiss, escalate
from monitor.alerts.search import search_items
from monitor.console.deps import ConsoleState, RowId, state
from monitor.console.detail import alert_detail
from monitor.console.queue import alert_summary, queue_filter
from monitor.console.security import Viewer, token_viewer
from monitor.messages.text import case_place
from storage import console_repo as repo
from storage.models import Item
from storage.search_repo import SearchFilters
from storage.trends_repo import case_events, case_files, find_case_file

bearer = HTTPBearer(auto_error=False, description="an API token from `tocsin users token NAME`")
MAX_OFFSET = 1_000_000
StateName = Literal["triage", "escalated", "acknowledged", "dismissed", "all"]


class AlertOut(BaseModel):
    id: int
    kind: str
    event: str
    severity: str
    subject: str | None
    title: str
    summary: str
    state: str
    revision: int
    first_seen: datetime
    last_seen: datetime
    acknowledged_at: datetime | None
    dismissed_at: datetime | None
    dismiss_reason: str | None


class ReportOut(BaseModel):
    item: int
    source: str
    url: str
    title: str
    lang: str | None
    rules: list[str]
    copy_of: int | None
    removed: str | None


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class AlertDetailOut(AlertOut):
    reports: list[ReportOut]
    audit: list[AuditOut]


class AlertList(BaseModel):
    total: int
    alerts: list[AlertOut]


class DismissIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why it is a false positive (kept)")


class EscalateIn(BaseModel):
    note: str = Field("", max_length=2000)


class ItemOut(BaseModel):
    id: int
    source: str
    url: str
    title: str
    lang: str | None
    published_at: datetime | None
    fetched_at: datetime
    version: int
    status: str


class ItemDetailOut(ItemOut):
    text: str


class ItemList(BaseModel):
    total: int
    items: list[ItemOut]


class CaseOut(BaseModel):
    person: str
    risk_level: str
    severity: str | None
    level_since: datetime | None
    peak_level: str
    events: int
    last_event_at: datetime | None


class CaseEventOut(BaseModel):
    at: datetime
    event_type: str
    severity: str
    where: str
    sources: list[dict[str, Any]]


class CaseDetailOut(CaseOut):
    timeline: list[CaseEventOut]


class TrendRowOut(BaseModel):
    start: str
    count: float
    window: float
    expected: float | None
    limit: int | None
    p_value: float | None
    alert: str | None


class TrendOut(BaseModel):
    series: str
    title: str
    scope: str
    bin: str
    rows: list[TrendRowOut]


class SourceOut(BaseModel):
    id: str
    enabled: bool
    last_run: str | None
    last_success: str | None
    last_error_at: str | None
    last_error: str | None
    consecutive_failures: int
    items: int
    items_last_run: int
    next_run: str | None


def api_viewer(request: Request,
               credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Viewer:
    with state(request).write() as session:  # records the token's last use
        found = token_viewer(session, credentials.credentials if credentials else None)
    if found is None:
        raise HTTPException(401, "a valid API token is needed: Authorization: Bearer TOKEN "
                                 "(make one with `tocsin users token NAME`)", headers={"WWW-Authenticate": "Bearer"})
    return found


def analyst(found: Annotated[Viewer, Depends(api_viewer)]) -> Viewer:
    if not found.may("analyst"):
        raise HTTPException(403, f"triage needs the analyst role; this token's user is a {found.role}")
    return found


Reader = Annotated[Viewer, Depends(api_viewer)]
Analyst = Annotated[Viewer, Depends(analyst)]
router = APIRouter(responses={401: {"description": "no valid token"}})


def api_app(console: ConsoleState) -> FastAPI:
    """The API as an app of its own (mounted at ``/api/v1``), with its own OpenAPI document."""
    app = FastAPI(title="Tocsin API", version="1", openapi_url="/openapi.json", docs_url=None, redoc_url=None,
                  description=__doc__)
    app.include_router(router)
    app.state.console = console
    return app


@router.get("/alerts", response_model=AlertList)
def list_alerts(request: Request, found: Reader, state_: Annotated[StateName, Query(alias="state")] = "triage",
                event: str | None = None, severity: str | None = None, source: str | None = None,
                lang: str | None = None, person: str | None = None,
                since: Annotated[datetime | None, Query(description="last seen at or after (ISO time)")] = None,
                until: Annotated[datetime | None, Query(description="first seen at or before (ISO time)")] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0
                ) -> Any:
    """Alerts newest first, with the queue's filters."""
    values = {"state": state_, "event": event, "severity": severity, "source": source, "lang": lang,
              "person": person, "since": since.isoformat() if since else None,
              "until": until.isoformat() if until else None}
    try:
        queue = queue_filter(values)
    except AlertError as exc:
        raise HTTPException(422, str(exc)) from None
    with state(request).read() as session:
        alerts = repo.queue_alerts(session, queue, limit=limit, offset=offset)
        return {"total": repo.queue_count(session, queue), "alerts": [alert_summary(a) for a in alerts]}


def _detail(request: Request, alert_id: RowId) -> dict[str, Any]:
    current = state(request)
    with current.read() as session:
        if (detail := alert_detail(session, alert_id, current.host.rules)) is None:
            raise HTTPException(404, f"no alert {alert_id}")
        return {**alert_summary(detail.alert),
                "reports": [{"item": r.item.id, "source": r.source_name, "url": r.item.url, "title": r.item.title,
                             "lang": r.item.lang, "rules": [w.rule_id for w in r.rules], "copy_of": r.copy_of,
                             "removed": r.removed} for r in detail.reports],
                "audit": [{"at": e.at, "actor": e.actor, "action": e.action, "detail": e.detail}
                          for e in detail.audit]}


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut, responses={404: {"description": "no such alert"}})
def show_alert(request: Request, alert_id: RowId, found: Reader) -> Any:
    """One alert with its reports and what people did to it."""
    return _detail(request, alert_id)


def _act(request: Request, alert_id: RowId, action: Any, **options: Any) -> Any:
    try:
        with state(request).write() as session:
            action(session, alert_id, **options)
    except AlertError as exc:
        status = 404 if str(exc).startswith("no alert") else 409
        raise HTTPException(status, str(exc)) from None
    return _detail(request, alert_id)


TRIAGE_ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "the token's user may not triage"},
                                                   404: {"description": "no such alert"},
                                                   409: {"description": "not in a state that allows it"}}


@router.post("/alerts/{alert_id}/ack", response_model=AlertDetailOut, responses=TRIAGE_ERRORS)
def ack_alert(request: Request, alert_id: RowId, found: Analyst) -> Any:
    """Acknowledge: someone is on it."""
    return _act(request, alert_id, acknowledge, actor=found.name)


@router.post("/alerts/{alert_id}/escalate", response_model=AlertDetailOut, responses=TRIAGE_ERRORS)
def escalate_alert(request: Request, alert_id: RowId, body: EscalateIn, found: Analyst) -> Any:
    """Escalate: it needs a senior look."""
    return _act(request, alert_id, escalate, actor=found.name, note=body.note)


@router.post("/alerts/{alert_id}/dismiss", response_model=AlertDetailOut, responses=TRIAGE_ERRORS)
def dismiss_alert(request: Request, alert_id: RowId, body: DismissIn, found: Analyst) -> Any:
    """Dismiss as a false positive, with the reason (unsent messages about it are cancelled)."""
    if not body.reason.strip():
        raise HTTPException(422, "say why the alert is dismissed")
    return _act(request, alert_id, dismiss, actor=found.name, reason=body.reason)


def _item(item: Item, *, text: bool = False) -> dict[str, Any]:
    data = {"id": item.id, "source": item.source_id, "url": item.url, "title": item.title, "lang": item.lang,
            "published_at": item.published_at, "fetched_at": item.fetched_at, "version": item.version,
            "status": item.status}
    return data | {"text": item.text} if text else data


@router.get("/items", response_model=ItemList)
def search(request: Request, found: Reader, q: Annotated[str, Query(min_length=1, max_length=500)],
           source: str | None = None, lang: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 25,
           offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Any:
    """Items containing every word and "quoted phrase" of ``q`` (Persian normalised as the rules do)."""
    with state(request).write() as session:
        result = search_items(session, q, filters=SearchFilters(source, lang), limit=limit, offset=offset)
        return {"total": result.total, "items": [_item(i) for i in result.items]}


@router.get("/items/{item_id}", response_model=ItemDetailOut, responses={404: {"description": "no such item"}})
def show_item(request: Request, item_id: RowId, found: Reader) -> Any:
    with state(request).read() as session:
        item = session.get(Item, item_id)
        if item is None:
            raise HTTPException(404, f"no item {item_id}")
        return _item(item, text=True)


def _case(case: Any) -> dict[str, Any]:
    return {"person": case.person, "risk_level": case.risk_level, "severity": case.severity,
            "level_since": case.level_since, "peak_level": case.peak_level, "events": case.event_count,
            "last_event_at": case.last_event_at}


@router.get("/cases", response_model=list[CaseOut])
def list_cases(request: Request, found: Reader, at_risk: bool = False) -> Any:
    """Watched people with a case file, highest risk first."""
    with state(request).read() as session:
        return [_case(c) for c in case_files(session, min_rank=2 if at_risk else 0)]


@router.get("/cases/{person}", response_model=CaseDetailOut, responses={404: {"description": "no case file"}})
def show_case(request: Request, person: str, found: Reader) -> Any:
    with state(request).read() as session:
        case = find_case_file(session, person)
        if case is None:
            raise HTTPException(404, f"no case file for {person!r}")
        timeline = [{"at": e.occurred_at, "event_type": e.event_type, "severity": e.severity,
                     "where": case_place(e.details), "sources": [s for s in e.sources if isinstance(s, dict)]}
                    for e in case_events(session, case.person)]
        return _case(case) | {"timeline": timeline}


@router.get("/trends/{series}", response_model=TrendOut, responses={404: {"description": "no such series or scope"}})
def trend(request: Request, series: str, found: Reader, scope: str | None = None,
          last: Annotated[int, Query(ge=1, le=365)] = 30) -> Any:
    """A surge series: counts per bin against the baseline, with the surge alerts marked."""
    current = state(request)
    try:
        with current.read() as session:
            view = current.services.trend_view(session, series, scope, last, datetime.now(UTC))
    except UnknownSeries as exc:
        raise HTTPException(404, str(exc)) from None
    return {"series": view.spec.id, "title": view.spec.title, "scope": view.scope_name, "bin": view.unit,
            "rows": [{**row.__dict__, "start": row.start.isoformat()} for row in view.rows]}


@router.get("/sources", response_model=list[SourceOut])
def sources(request: Request, found: Reader) -> Any:
    """Each configured source's health, last success, last error and next run."""
    current = state(request)
    with current.read() as session:
        return current.services.source_rows(session)
