"""Match stored items against the rules and fold the matches into alerts, one transaction per item.

The matches, the alerts they create or update, and the alerts' deliveries (the outbox) are committed
together, so a crash can never leave a match without its alert or an alert without its deliveries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts import AlertDecision, fold_match
from monitor.rules import Document, RuleEngine
from storage.db import Database
from storage.models import Item, Match, Source
from storage.repository import add_match, pending_items

log = logging.getLogger(__name__)


@dataclass
class ProcessReport:
    items: int = 0
    matches: int = 0
    alerts_new: list[int] = field(default_factory=list)
    alerts_updated: list[int] = field(default_factory=list)


def item_document(item: Item, source: Source | None) -> Document:
    return Document(
        id=str(item.id),
        text=item.text,
        title=item.title,
        lang=item.lang,
        source=item.source_id,
        tags=frozenset(source.tags if source else ()),
    )


def match_item(session: Session, item: Item, engine: RuleEngine, config: TocsinConfig) -> list[AlertDecision]:
    """Match one item's current version; store matches and fold each into an alert."""
    decisions = []
    for found in engine.match(item_document(item, item.source)):
        row = add_match(session, Match(
            item_id=item.id,
            item_version=item.version,
            rule_id=found.rule_id,
            event_type=found.event,
            severity=found.severity,
            score=found.score,
            entities=dict(found.entities),
            spans=[list(span) for span in found.spans]
            + [["title", start, end] for start, end in found.title_spans],
        ))
        decisions.append(fold_match(session, row, item, config))
    item.matched_version = item.version
    if decisions and item.recheck_until is None:
        # A matched article is watched for edits and deletions (state media deleting one is a signal).
        item.recheck_until = item.fetched_at + config.settings.crawl.recheck_matched_for
    return decisions


def process_pending(
    database: Database,
    engine: RuleEngine,
    config: TocsinConfig,
    *,
    item_ids: Sequence[int] | None = None,
    batch: int = 200,
) -> ProcessReport:
    """Match every item not yet matched in its current version (or just ``item_ids``)."""
    report = ProcessReport()
    while True:
        with database.read() as session:
            ids = [item.id for item in pending_items(session, limit=batch, item_ids=item_ids)]
        if not ids:
            return report
        for item_id in ids:
            with database.write() as session:
                item = session.get(Item, item_id)
                if item is None or item.matched_version >= item.version:
                    continue  # someone else matched it meanwhile
                decisions = match_item(session, item, engine, config)
            report.items += 1
            report.matches += len(decisions)
            for decision in decisions:
                target = report.alerts_new if decision.created else report.alerts_updated
                if decision.alert_id not in target and decision.changed:
                    target.append(decision.alert_id)
        if item_ids is not None:
            return report
