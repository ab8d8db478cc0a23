"""Queries behind ``tocsin corpus export``: the stored reports behind event alerts, with the alerts' verdicts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Alert, Item, Match


def judged_reports(session: Session, *, since: datetime | None = None) -> list[tuple[Item, str, str]]:
    """(item, event type, alert state) for every item reported under an event alert, oldest item first.

    One row per item and alert (an item in two alerts gives two rows); ``since`` keeps alerts last seen then
    or later.
    """
    query = (
        select(Item, Alert.event_type, Alert.state)
        .join(Match, Match.item_id == Item.id)
        .join(Alert, Alert.id == Match.alert_id)
        .where(Alert.kind == "event")
        .distinct()
        .order_by(Item.id, Alert.event_type)
    )
    if since is not None:
        query = query.where(Alert.last_seen_at >= since)
    return [(item, event, state) for item, event, state in session.execute(query)]
