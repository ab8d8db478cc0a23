"""An Atom feed of each saved filter's alerts, for feed readers: ``/feeds/ID.atom?token=FEED_TOKEN``.

The token (made on the queue page, shown once) reads that one feed and nothing else. Titles and summaries are
text: feedgen escapes them, and nothing in a feed is HTML.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from feedgen.feed import FeedGenerator

from config.errors import AlertError
from monitor.console.deps import RowId, state
from monitor.console.host import web_settings
from monitor.console.queue import queue_filter
from monitor.console.security import token_viewer
from monitor.messages.text import strip_controls
from storage import console_repo as repo
from storage.console_models import SavedFilter

router = APIRouter(include_in_schema=False)
FEED_SIZE = 50


@router.get("/feeds/{filter_id}.atom")
def saved_filter_feed(request: Request, filter_id: RowId, token: str = "") -> Response:
    current = state(request)
    settings = web_settings(current.host.config)
    origin = (settings.public_url or str(request.base_url)).rstrip("/")
    with current.write() as session:  # records the token's last use
        found = token_viewer(session, token, scope="feed", filter_id=filter_id)
        saved = session.get(SavedFilter, filter_id)
        if found is None or saved is None or saved.user_id != found.user_id:
            raise HTTPException(401, "this feed address is not valid (any more): make a new one on the queue page")
        try:
            queue = queue_filter(saved.query)
        except AlertError as exc:
            raise HTTPException(400, str(exc)) from None
        alerts = repo.queue_alerts(session, queue, limit=FEED_SIZE)
        feed = FeedGenerator()
        feed.id(f"{origin}/feeds/{filter_id}")
        feed.title(f"Tocsin: {strip_controls(saved.name)}")
        feed.link(href=f"{origin}/alerts", rel="alternate")
        feed.updated(max((a.last_seen_at for a in alerts), default=saved.created_at))
        for alert in reversed(alerts):  # feedgen lists the last added first
            entry = feed.add_entry()
            entry.id(f"{origin}/alerts/{alert.id}")
            entry.title(strip_controls(f"[{alert.severity}] {alert.title}"))
            entry.link(href=f"{origin}/alerts/{alert.id}")
            entry.updated(alert.last_seen_at)
            entry.published(alert.first_seen_at)
            entry.summary(strip_controls(f"{alert.event_type} · {alert.state} · {alert.summary}"))
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml")
