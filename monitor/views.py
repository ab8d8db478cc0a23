"""Build the message views (``monitor.messages``) from stored alerts, digests and rate-limit summaries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.messages import AlertView, DigestView, OverflowView, SourceRef
from storage import alerts_repo as repo
from storage.models import Alert, Delivery, Item, Match

MAX_SOURCES_SHOWN = 25  # an alert with hundreds of reports lists this many; `tocsin alerts show` has all


def _source_name(item: Item) -> str:
    return item.source.name if item.source else item.source_id


def alert_sources(session: Session, alert: Alert) -> tuple[list[SourceRef], int]:
    """The alert's reports, one per item, originals before copies; and how many were left out."""
    rows = session.execute(
        select(Match.item_id, Match.duplicate_of_item_id).where(Match.alert_id == alert.id).order_by(Match.id)
    ).all()
    first: dict[int, int | None] = {}
    for item_id, copy_of in rows:
        first.setdefault(item_id, copy_of)
    ordered = [i for i, c in first.items() if c is None] + [i for i, c in first.items() if c is not None]
    sources = []
    for item_id in ordered[:MAX_SOURCES_SHOWN]:
        item = session.get_one(Item, item_id)
        copy_of = first[item_id]
        name = _source_name(item)
        if copy_of is not None:
            original = session.get(Item, copy_of)
            name = f"{name} (same text as {_source_name(original)})" if original else f"{name} (copy)"
        sources.append(SourceRef(name=name, url=item.url, title=item.title, lang=item.lang,
                                 published_at=item.published_at))
    return sources, max(0, len(ordered) - MAX_SOURCES_SHOWN)


def alert_view(session: Session, alert: Alert, *, is_update: bool = False) -> AlertView:
    sources, more = alert_sources(session, alert)
    summary = alert.summary
    if more:
        summary = f"{summary}\n\n+{more} more reports (tocsin alerts show {alert.id})".strip()
    entities = alert.details.get("entities", {})
    return AlertView(
        id=alert.id,
        severity=alert.severity,
        event_type=alert.event_type,
        subject=alert.subject,
        title=alert.title,
        summary=summary,
        entities=dict(entities) if isinstance(entities, dict) else {},
        sources=sources,
        evidence_url=None,
        first_seen=alert.first_seen_at,
        last_seen=alert.last_seen_at,
        is_update=is_update,
    )


def _member_views(session: Session, bundle_id: int) -> list[AlertView]:
    members: list[Delivery] = repo.bundle_members(session, bundle_id)
    seen: dict[int, AlertView] = {}
    for delivery in members:
        if delivery.alert_id not in seen and delivery.alert.state != "dismissed":
            seen[delivery.alert_id] = alert_view(session, delivery.alert, is_update=delivery.kind == "update")
    return list(seen.values())


def digest_view(session: Session, bundle: Alert) -> DigestView:
    start = datetime.fromisoformat(str(bundle.details["period_start"]))
    end = datetime.fromisoformat(str(bundle.details["period_end"]))
    return DigestView(period_start=start, period_end=end, alerts=_member_views(session, bundle.id))


def overflow_view(session: Session, bundle: Alert, channel: str) -> OverflowView:
    return OverflowView(channel=channel, suppressed=_member_views(session, bundle.id))
