"""Rule tuning against the item store: explain a stored item, backtest the current rules over stored items,
read a labelled corpus for ``rules eval``, and export the team's own judged alerts as one (the CLI and the
console's rules lab).

The backtest compares what the current rules match with what was stored when each item was matched, and
points out the no-longer-firing matches that belonged to alerts analysts dismissed as false positives.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from config.errors import CorpusError
from monitor.alerts.lifecycle import dismissed_alerts
from monitor.alerts.matching import item_document
from monitor.rules import Document, RuleEngine
from monitor.rules.backtest import BacktestReport, Change
from monitor.rules.corpus import CorpusRow, parse_corpus
from storage.corpus_repo import judged_reports
from storage.models import Item
from storage.repository import matched_items_since, version_matches


def stored_document(session: Session, item_id: int) -> Document | None:
    item = session.get(Item, item_id)
    return item_document(item, item.source) if item is not None else None


def backtest_stored(session: Session, engine: RuleEngine, *, since: datetime) -> BacktestReport:
    """What the current rules would match on items fetched since ``since``, against what they matched then."""
    dismissed = {
        (m.item_id, m.item_version, m.rule_id): alert.alert_id
        for alert in dismissed_alerts(session)
        for m in alert.matches
    }
    report = BacktestReport()
    items = matched_items_since(session, since)
    for item in items:
        report.documents += 1
        before = {m.rule_id: m for m in version_matches(session, item.id, item.matched_version)}
        after = {m.rule_id: m for m in engine.match(item_document(item, item.source))}
        report.unchanged += len(before.keys() & after.keys())
        title = item.title or item.text[:80]
        for rule_id in sorted(after.keys() - before.keys()):
            found = after[rule_id]
            report.newly_firing.append(Change(str(item.id), rule_id, found.event, found.severity, title))
        for rule_id in sorted(before.keys() - after.keys()):
            old = before[rule_id]
            report.no_longer_firing.append(Change(
                str(item.id), rule_id, old.event_type, old.severity, title,
                dismissed_alert=dismissed.get((item.id, item.matched_version, rule_id)),
            ))
    return report


def read_corpus(path: Path) -> list[CorpusRow]:
    """The passages of a JSON-lines corpus file; any problem raises CorpusError naming the file (and line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CorpusError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_corpus(text, str(path))


# What an analyst's verdict on an alert says about its event in each of its reports.
POSITIVE_STATES = ("acknowledged",)
NEGATIVE_STATES = ("dismissed",)


def export_corpus(session: Session, *, since: datetime | None = None) -> list[CorpusRow]:
    """The items behind event alerts as labelled passages for ``rules eval``.

    An acknowledged alert's event is a label of each of its reports; a dismissed alert's event is not (the
    passage is a negative for it, a hard negative if nothing else was confirmed); an alert nobody has judged
    yet makes its event an optional label, neither required nor wrong.
    """
    items: dict[int, Item] = {}
    verdicts: dict[int, dict[str, set[str]]] = {}
    for item, event, state in judged_reports(session, since=since):
        items[item.id] = item
        kind = "label" if state in POSITIVE_STATES else "dismissed" if state in NEGATIVE_STATES else "optional"
        verdicts.setdefault(item.id, {"label": set(), "dismissed": set(), "optional": set()})[kind].add(event)
    rows = []
    for item_id, item in items.items():
        labels = verdicts[item_id]["label"]
        dismissed = verdicts[item_id]["dismissed"] - labels
        rows.append(CorpusRow(
            id=f"item-{item_id}", text=item.text, title=item.title or None, lang=item.lang, url=item.url,
            labels=sorted(labels), optional_labels=sorted(verdicts[item_id]["optional"] - labels - dismissed),
            note=f"dismissed as a false alarm: {', '.join(sorted(dismissed))}" if dismissed else "",
        ))
    return rows


def corpus_files(directories: list[Path]) -> list[Path]:
    """The labelled corpora (``*.jsonl``) in these directories, in a stable order; missing ones are skipped."""
    return [path for directory in directories if directory.is_dir() for path in sorted(directory.glob("*.jsonl"))]
