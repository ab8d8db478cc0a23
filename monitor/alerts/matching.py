"""Match stored items against the rules and fold the matches into alerts, a batch of items per transaction.

The matches, the alerts they create or update, and the alerts' deliveries (the outbox) are committed
together, so a crash can never leave a match without its alert or an alert without its deliveries. A batch
shares one transaction (one write lock, one commit: per-item transactions cost more than the matching);
if anything in a batch fails, the batch is rolled back and done again one item per transaction, so the
items before the bad one are kept and the error names it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from config.errors import MatchingError
from config.loader import TocsinConfig
from monitor.alerts.article import fold_article
from monitor.alerts.folding import AlertDecision
from monitor.rules import Document, RuleEngine
from storage.db import Database
from storage.models import Item, Match, Source
from storage.repository import add_match, pending_item_ids, pending_items

log = logging.getLogger(__name__)


@dataclass
class ProcessReport:
    items: int = 0
    matches: int = 0
    alerts_new: list[int] = field(default_factory=list)
    alerts_updated: list[int] = field(default_factory=list)

    def add(self, decisions: list[AlertDecision]) -> None:
        """Count one matched item and the alerts its matches created or changed."""
        self.items += 1
        self.matches += len(decisions)
        for decision in decisions:
            target = self.alerts_new if decision.created else self.alerts_updated
            if decision.alert_id not in target and decision.changed:
                target.append(decision.alert_id)


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
    """Match one item's current version; store its matches and fold them into alerts, one per event."""
    rows = [
        add_match(session, Match(
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
        for found in engine.match(item_document(item, item.source))
    ]
    decisions = fold_article(session, rows, item, config)
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
    batch: int = 50,
) -> ProcessReport:
    """Match every item not yet matched in its current version (or just ``item_ids``)."""
    report = ProcessReport()
    while True:
        with database.read() as session:
            ids = pending_item_ids(session, limit=batch, item_ids=item_ids)
        if not ids:
            return report
        try:
            with database.write() as session:
                outcomes = _match_batch(session, ids, engine, config)
        except Exception:  # noqa: BLE001 - redone item by item below, where the error is raised with its item
            log.warning("matching a batch of %d items failed; matching them one by one", len(ids), exc_info=True)
            outcomes = []
            for item_id in ids:
                try:
                    with database.write() as session:
                        outcomes += _match_batch(session, [item_id], engine, config)
                except Exception as exc:
                    raise MatchingError(item_id, exc) from exc
        for decisions in outcomes:
            report.add(decisions)
        if item_ids is not None:
            return report


def _match_batch(session: Session, ids: Sequence[int], engine: RuleEngine,
                 config: TocsinConfig) -> list[list[AlertDecision]]:
    """Match the items of ``ids`` still pending (someone else may have matched some meanwhile)."""
    return [match_item(session, item, engine, config) for item in pending_items(session, ids)]
