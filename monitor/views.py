"""Build the message views (``monitor.messages``) from stored alerts."""

from __future__ import annotations

from sqlalchemy.orm import Session

from monitor.messages import AlertView, SourceRef
from storage.models import Alert, Item


def alert_view(session: Session, alert: Alert, *, is_update: bool = False) -> AlertView:
    seen: set[int] = set()
    sources: list[SourceRef] = []
    for match in sorted(alert.matches, key=lambda m: m.id):
        if match.item_id in seen:
            continue
        seen.add(match.item_id)
        item = session.get_one(Item, match.item_id)
        sources.append(SourceRef(
            name=item.source.name if item.source else item.source_id,
            url=item.url,
            title=item.title,
            lang=item.lang,
            published_at=item.published_at,
        ))
    return AlertView(
        id=alert.id,
        severity=alert.severity,
        event_type=alert.event_type,
        subject=alert.subject,
        title=alert.title,
        summary=alert.summary,
        entities=dict(alert.details.get("entities", {})),
        sources=sources,
        evidence_url=None,
        first_seen=alert.first_seen_at,
        last_seen=alert.last_seen_at,
        is_update=is_update,
    )
