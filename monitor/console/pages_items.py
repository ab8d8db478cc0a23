"""Item search over the stored text (Persian normalised as the rules normalise it), the item page, and the
item's evidence: its latest raw response, and every kept response as a WARC."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from monitor.alerts.search import excerpt, phrase_spans, search_items, segments
from monitor.console.deps import RowId, needs, render, state
from monitor.console.detail import report_of
from monitor.console.pages_alerts import warc_response
from monitor.console.security import Viewer
from storage.alerts_repo import item_matches
from storage.crawl_repo import item_snapshots
from storage.models import Item
from storage.repository import snapshot_body
from storage.search_repo import SearchFilters

router = APIRouter(include_in_schema=False)
Reader = Annotated[Viewer, Depends(needs("viewer"))]
PAGE = 25


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, found: Reader, q: str = "", source: str = "", lang: str = "",
                offset: int = 0) -> HTMLResponse:
    current = state(request)
    results, hits = None, {}
    if q.strip():
        with current.write() as session:  # searching first indexes what is new (monitor.alerts.search)
            results = search_items(session, q, filters=SearchFilters(source or None, lang or None), limit=PAGE,
                                   offset=max(0, offset))
            for item in results.items:
                hits[item.id] = (segments(item.title or item.url, phrase_spans(item.title, results.phrases)),
                                 excerpt(item.text, phrase_spans(item.text, results.phrases)))
    sources = [(s.id, s.label) for s in current.host.config.sources]
    return render(request, "search.html", found, q=q, source=source, lang=lang, results=results, hits=hits,
                  sources=sources, offset=max(0, offset), page=PAGE)


def _item(session: Session, item_id: RowId) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise HTTPException(404, f"no item {item_id}")
    return item


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: RowId, found: Reader) -> HTMLResponse:
    current = state(request)
    with current.read() as session:
        item = _item(session, item_id)
        matches = item_matches(session, item_id)
        current_matches = [m for m in matches if m.item_version == item.version]
        report = report_of(session, item, current_matches, current.host.rules)
        text_spans = [s for m in current_matches for s in m.spans if isinstance(s, list) and len(s) == 2]
        return render(request, "item.html", found, item=item, report=report, matches=matches,
                      text=segments(item.text, text_spans), snapshots=item_snapshots(session, item_id))


@router.get("/items/{item_id}/evidence")
def item_evidence(request: Request, item_id: RowId, found: Reader) -> Response:
    """The latest kept response, exactly as received, as a download (never rendered by the console)."""
    with state(request).read() as session:
        item = _item(session, item_id)
        body = snapshot_body(item.snapshot) if item.snapshot is not None else None
        if body is None:
            raise HTTPException(404, f"item {item_id} has no kept response (never kept, or pruned)")
        sha = item.snapshot.sha256 if item.snapshot else ""
    return Response(body, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="tocsin-item-{item_id}-{sha[:12]}.bin"',
        "Content-Security-Policy": "sandbox; default-src 'none'"})


@router.get("/items/{item_id}/evidence.warc.gz")
def item_warc(request: Request, item_id: RowId, found: Reader) -> Response:
    with state(request).read() as session:
        _item(session, item_id)
        return warc_response(session, [item_id], f"tocsin-item-{item_id}.warc.gz")
