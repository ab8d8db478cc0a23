"""An alert and an item as their pages (and the API) show them: each report with its excerpt and the matched
words, the rule and why it fired, the evidence kept, and what people did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerts.search import Segment, excerpt, segments
from monitor.messages.text import safe_href
from monitor.rules import RuleEngine
from storage import alerts_repo
from storage import console_repo as repo
from storage.console_models import AuditEntry
from storage.crawl_repo import item_snapshots
from storage.models import Alert, Delivery, Item, Match


@dataclass
class RuleWhy:
    """The rule behind a match: its id, what it watches for (its description) and its query."""

    rule_id: str
    event: str
    severity: str
    description: str = ""
    query: str = ""
    entities: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """One item behind an alert."""

    item: Item
    source_name: str
    href: str | None
    title: list[Segment]
    excerpt: list[Segment]
    rules: list[RuleWhy]
    copy_of: int | None = None
    removed: str | None = None  # why a removal alert's article is gone
    evidence: int = 0  # kept responses (the WARC holds them)


@dataclass
class AlertDetail:
    alert: Alert
    reports: list[Report]
    deliveries: list[Delivery]
    audit: list[AuditEntry]


def _spans(match: Match) -> tuple[list[list[int]], list[list[int]]]:
    """Text spans and title spans of a match (title spans are stored as ``["title", start, end]``)."""
    text, title = [], []
    for span in match.spans or []:
        if isinstance(span, list) and len(span) == 3 and span[0] == "title":
            title.append([int(span[1]), int(span[2])])
        elif isinstance(span, list) and len(span) == 2:
            text.append([int(span[0]), int(span[1])])
    return text, title


def rule_why(engine: RuleEngine | None, match: Match) -> RuleWhy:
    why = RuleWhy(match.rule_id, match.event_type, match.severity,
                  entities={k: v for k, v in (match.entities or {}).items() if v not in (None, "", [], {})})
    try:
        spec = engine.rule(match.rule_id).spec if engine is not None else None
    except KeyError:
        spec = None  # a rule removed since it fired
    if spec is not None:
        why.description, why.query = spec.description, spec.query or ""
    return why


def _source_name(item: Item) -> str:
    return item.source.name if item.source else item.source_id


def report_of(session: Session, item: Item, matches: list[Match], engine: RuleEngine | None) -> Report:
    text_spans = [s for m in matches for s in _spans(m)[0]]
    title_spans = [s for m in matches for s in _spans(m)[1]]
    return Report(item=item, source_name=_source_name(item), href=safe_href(item.url),
                  title=segments(item.title or item.url, title_spans), excerpt=excerpt(item.text, text_spans),
                  rules=[rule_why(engine, m) for m in matches],
                  copy_of=next((m.duplicate_of_item_id for m in matches if m.duplicate_of_item_id), None),
                  evidence=len(item_snapshots(session, item.id)))


def alert_detail(session: Session, alert_id: int, engine: RuleEngine | None) -> AlertDetail | None:
    """The alert page's (and the API's) view of an alert, or None when there is no such alert."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return None
    by_item: dict[int, list[Match]] = {}
    for match in sorted(alert.matches, key=lambda m: m.id):
        by_item.setdefault(match.item_id, []).append(match)
    reports = [report_of(session, matches[0].item, matches, engine) for matches in by_item.values()]
    reports.sort(key=lambda r: r.copy_of is not None)  # originals first
    removed = alerts_repo.removal_alert_item(session, alert.id)
    if removed is not None and removed.id not in by_item:
        report = report_of(session, removed, [], engine)
        report.removed = str(alert.details.get("reason") or removed.removal_reason or "removed at its source")
        reports.append(report)
    return AlertDetail(alert, reports, list(alert.deliveries), repo.alert_audit(session, alert.id))
