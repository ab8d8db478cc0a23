"""Removal alerts: a matched article deleted at its source (state media deleting an article is a signal).

The re-check crawl (``crawler.recheck``) marks such an item ``removed`` and keeps the response as
evidence. The alert is derived from that database state, never from the crawl's in-memory callback:
:func:`raise_removal_alerts` sweeps for removed items that had matched a rule and whose removal has no
alert yet, and writes the alert, its outbox rows and the item's link to it (``Item.removal_alert_id``)
in one transaction. A service killed between the crawl's commit and its callback therefore loses
nothing: the next sweep (after a re-check, every dispatcher run, every ``tocsin crawl``) raises it.

Identity: one ``article_removed`` alert per removed item. Removed again within ``alerts.dedup_window``
of that alert (it came back, then went again), the removal is folded into it silently; later, it is
news again. Removals older than the window with no alert (e.g. recorded before this feature) are left
alone. Items whose every match was in a dismissed alert (a false positive) raise nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.folding import lead, main_subject
from monitor.alerts.outbox import open_alert
from monitor.messages.text import format_when
from storage import alerts_repo as repo
from storage.db import Database
from storage.models import Alert, Item, Match, utcnow

log = logging.getLogger(__name__)

EVENT_TYPE = "article_removed"
KIND = "removal"
LEAD_CHARS = 300  # how much of the removed text the message quotes


@dataclass(frozen=True)
class RemovalAlert:
    """What the sweep did for one removed item."""

    alert_id: int
    item_id: int
    created: bool  # False: removed again within the window, folded into the earlier alert
    channels: tuple[str, ...] = ()


def removal_dedup_key(item_id: int, removed_at: datetime) -> str:
    """One key per removal of one item: a second sweep (or a second process) cannot insert it twice."""
    return f"{EVENT_TYPE}|item:{item_id}|{removed_at:%Y-%m-%dT%H:%M:%S}"


def _source_label(item: Item) -> str:
    return item.source.name if item.source is not None else item.source_id


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def removal_content(item: Item, matches: list[Match]) -> tuple[str, str, dict[str, object]]:
    """Title, summary and details of the alert; scraped strings are kept raw (the renderers clean and
    escape them), and the ``entities`` give the facts one per line in every channel's message."""
    source = _source_label(item)
    when = item.removed_at or utcnow()
    reason = item.removal_reason or "gone"
    rules = _unique([m.rule_id for m in matches])
    events = _unique([m.event_type for m in matches])
    about = _unique([main_subject(m.entities) or "" for m in matches])
    related = _unique([f"#{m.alert_id}" for m in matches if m.alert_id is not None])
    export = f"tocsin evidence export {item.id} -o item-{item.id}.warc.gz"
    title = " ".join((item.title or "").split()) or item.url
    matched = f"the rule {rules[0]}" if len(rules) == 1 else f"the rules {', '.join(rules)}"
    summary = (
        f"{source} removed an article that had matched {matched} ({', '.join(events)}). "
        "Its last text and the response that showed it gone are kept as evidence."
    )
    opening = lead(item.text or "", LEAD_CHARS)
    if opening:
        summary += f"\n\nWhat it said: {opening}"
    entities: dict[str, object] = {
        "source": source,
        "url": item.url,
        "removed": format_when(when),
        "reason": reason,
        "rules": rules,
        "about": about,
        "alerts": related,
        "evidence": export,
    }
    details: dict[str, object] = {
        "item_id": item.id, "source_id": item.source_id, "url": item.url, "reason": reason,
        "removed_at": when.isoformat(), "rules": rules, "event_types": events,
        "related_alerts": [m.alert_id for m in matches if m.alert_id is not None],
        "removal_snapshot_id": (item.details or {}).get("removal_snapshot_id"),
        "entities": {key: value for key, value in entities.items() if value},
    }
    return title, summary, details


def alert_removal(session: Session, item: Item, config: TocsinConfig, *,
                  now: datetime | None = None) -> RemovalAlert:
    """Raise the alert for the item's latest removal (or fold it into the alert of an earlier one).

    The caller has checked that the item is a candidate (``alerts_repo.removed_items_to_alert``).
    """
    removed_at = item.removed_at or utcnow()
    earlier = session.get(Alert, item.removal_alert_id) if item.removal_alert_id is not None else None
    if earlier is not None and removed_at - earlier.first_seen_at < config.settings.alerts.dedup_window:
        earlier.last_seen_at = max(earlier.last_seen_at, removed_at)
        again = [*earlier.details.get("removed_again", []), removed_at.isoformat()]
        earlier.details = {**earlier.details, "removed_again": again}
        return RemovalAlert(earlier.id, item.id, created=False)
    key = removal_dedup_key(item.id, removed_at)
    existing = repo.alert_by_key(session, key)
    if existing is not None:  # raised before, its link lost: link it again, send nothing
        item.removal_alert_id = existing.id
        return RemovalAlert(existing.id, item.id, created=False)
    matches = repo.item_matches(session, item.id)
    title, summary, details = removal_content(item, matches)
    source = _source_label(item)
    alert, deliveries = open_alert(
        session, config,
        dedup_key=key, kind=KIND, event_type=EVENT_TYPE, severity=config.settings.alerts.removal_severity,
        subject=source[:300], subject_key=f"item:{item.id}", title=title, summary=summary, details=details,
        first_seen_at=removed_at, last_seen_at=removed_at, item=item, now=now,
    )
    item.removal_alert_id = alert.id
    return RemovalAlert(alert.id, item.id, created=True, channels=tuple(d.channel for d in deliveries))


def raise_removal_alerts(database: Database, config: TocsinConfig, *, now: datetime | None = None,
                         limit: int = 200) -> list[RemovalAlert]:
    """The sweep: an alert for every removal that has none yet, one transaction per item.

    Safe to call at any time from any process: each item is looked at again inside its write
    transaction, so two sweeps never raise the same alert twice.
    """
    since = (now or utcnow()) - config.settings.alerts.dedup_window
    with database.read() as session:
        candidates = repo.removed_items_to_alert(session, since=since, limit=limit)
    raised: list[RemovalAlert] = []
    for item_id in candidates:
        try:
            with database.write() as session:
                if not repo.removed_items_to_alert(session, since=since, item_ids=[item_id]):
                    continue  # another sweep got there first
                result = alert_removal(session, session.get_one(Item, item_id), config, now=now)
        except Exception:
            log.exception("could not raise the removal alert of item %d; the next sweep tries again",
                          item_id, extra={"item": item_id})
            continue
        if result.created:
            log.warning("matched item %d was removed at its source: alert %d", item_id, result.alert_id,
                        extra={"item": item_id, "alert": result.alert_id})
        raised.append(result)
    return raised
