"""Build the message views (``monitor.messages``) from stored alerts, digests and rate-limit summaries, and
the outgoing messages of a delivery (its channel renders the view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerts.removals import KIND as REMOVAL_KIND
from monitor.alerts.routing import BUNDLE_KINDS
from monitor.delivery.channels import Channel, OutgoingMessage, View
from monitor.messages import AlertView, DigestView, OverflowView, SourceRef
from monitor.messages.text import first_excerpt, format_when
from storage import alerts_repo as repo
from storage.models import Alert, Delivery, Item

MAX_SOURCES_SHOWN = 25  # an alert with hundreds of reports lists this many; `tocsin alerts show` has all
# Facts of a removal alert (monitor.alerts.removals) that its source line shows: said once, there.
IN_REMOVAL_SOURCE_LINE = frozenset({"source", "url", "removed", "reason"})


def _source_name(item: Item) -> str:
    return item.source.name if item.source else item.source_id


@dataclass(frozen=True)
class RemovedArticle:
    """The article a removal alert is about: it is linked by ``Item.removal_alert_id``, not by matches."""

    item: Item
    removed_at: datetime | None  # this alert's removal (the item may have come back and gone again since)
    reason: str

    @property
    def note(self) -> str:
        when = format_when(self.removed_at)
        return f"removed {when}: {self.reason}" if when else f"removed: {self.reason}"

    def source_ref(self) -> SourceRef:
        return SourceRef(name=_source_name(self.item), url=self.item.url, title=self.item.title,
                         lang=self.item.lang, published_at=self.item.published_at, note=self.note)


def _parse_when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def removed_article(session: Session, alert: Alert) -> RemovedArticle | None:
    """The removed item behind a removal alert (None for any other alert, or once the item is deleted).

    The alert's details name the item and keep its own removal time and reason; the item's link to the
    alert is the fallback for an alert whose details lack them.
    """
    if alert.kind != REMOVAL_KIND:
        return None
    details = alert.details or {}
    item_id = details.get("item_id")
    item = session.get(Item, item_id) if isinstance(item_id, int) else None
    if item is None:
        item = repo.removal_alert_item(session, alert.id)
    if item is None:
        return None
    removed_at = _parse_when(details.get("removed_at")) or item.removed_at
    reason = str(details.get("reason") or item.removal_reason or "gone")
    return RemovedArticle(item=item, removed_at=removed_at, reason=reason)


def alert_item_rows(session: Session, alert: Alert) -> list[dict[str, Any]]:
    """Every item behind an alert, for ``tocsin alerts show`` (and ``--json``): its matched reports, oldest
    first, then the removed article of a removal alert (with when and why it was found gone)."""
    rows: list[dict[str, Any]] = []
    for m in sorted(alert.matches, key=lambda m: m.id):
        cut = first_excerpt(m.item.title or "", m.item.text or "", list(m.spans or []))
        rows.append({"item": m.item_id, "rule": m.rule_id, "url": m.item.url, "title": m.item.title,
                     "source": _source_name(m.item), "copy_of": m.duplicate_of_item_id,
                     "lang": m.item.lang, "published_at": m.item.published_at,
                     "excerpt": {"before": cut.before, "trigger": cut.trigger, "after": cut.after} if cut else None})
    removed = removed_article(session, alert)
    if removed is not None:
        rows.append({"item": removed.item.id, "rule": None, "url": removed.item.url,
                     "title": removed.item.title, "source": _source_name(removed.item), "copy_of": None,
                     "removed_at": removed.removed_at, "removal_reason": removed.reason})
    return rows


def alert_sources(session: Session, alert: Alert) -> tuple[list[SourceRef], int]:
    """The alert's reports, one per item, originals before copies; and how many were left out.

    A removal alert has no matches: its one source is the removed article, with when and why it went.
    """
    removed = removed_article(session, alert)
    if removed is not None:
        return [removed.source_ref()], 0
    rows = repo.alert_reports(session, alert.id)
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


def alert_view(session: Session, alert: Alert, *, is_update: bool = False,
               evidence_url: str | None = None) -> AlertView:
    """The message view of a stored alert; ``evidence_url`` is ``alerts.evidence_url`` (``{alert}``: its id)."""
    sources, more = alert_sources(session, alert)
    summary = alert.summary
    if more:
        summary = f"{summary}\n\n+{more} more reports (tocsin alerts show {alert.id})".strip()
    raw_entities = alert.details.get("entities", {})
    entities: dict[str, object] = dict(raw_entities) if isinstance(raw_entities, dict) else {}
    if alert.kind == REMOVAL_KIND and sources:
        entities = {k: v for k, v in entities.items() if k not in IN_REMOVAL_SOURCE_LINE}
    return AlertView(
        id=alert.id,
        severity=alert.severity,
        event_type=alert.event_type,
        subject=alert.subject,
        title=alert.title,
        summary=summary,
        entities=entities,
        sources=sources,
        evidence_url=template.format(alert=alert.id) if (template := evidence_url) and sources else None,
        first_seen=alert.first_seen_at,
        last_seen=alert.last_seen_at,
        is_update=is_update,
        # A removal alert's summary names its own export command (the article's versions and the gone page).
        evidence_command=(f"tocsin evidence export --alert {alert.id} -o alert-{alert.id}.warc.gz"
                          if sources and alert.kind != REMOVAL_KIND else None),
    )


def _member_views(session: Session, bundle_id: int, evidence_url: str | None = None) -> list[AlertView]:
    members: list[Delivery] = repo.bundle_members(session, bundle_id)
    seen: dict[int, AlertView] = {}
    for delivery in members:
        if delivery.alert_id not in seen and delivery.alert.state != "dismissed":
            seen[delivery.alert_id] = alert_view(session, delivery.alert, is_update=delivery.kind == "update",
                                                 evidence_url=evidence_url)
    return list(seen.values())


def digest_view(session: Session, bundle: Alert, evidence_url: str | None = None) -> DigestView:
    start = datetime.fromisoformat(str(bundle.details["period_start"]))
    end = datetime.fromisoformat(str(bundle.details["period_end"]))
    return DigestView(period_start=start, period_end=end, alerts=_member_views(session, bundle.id, evidence_url))


def overflow_view(session: Session, bundle: Alert, channel: str, evidence_url: str | None = None) -> OverflowView:
    return OverflowView(channel=channel, suppressed=_member_views(session, bundle.id, evidence_url))


def outgoing_messages(session: Session, delivery: Delivery, channel: Channel, *,
                      evidence_url: str | None = None) -> list[OutgoingMessage]:
    """What to send for ``delivery``: its alert, digest or rate-limit summary, rendered by its channel."""
    alert = delivery.alert
    view: View
    if alert.kind not in BUNDLE_KINDS:
        view = alert_view(session, alert, is_update=delivery.kind == "update", evidence_url=evidence_url)
    elif alert.kind == "digest":
        view = digest_view(session, alert, evidence_url)
    else:
        view = overflow_view(session, alert, delivery.channel, evidence_url)
    return channel.render(view)
