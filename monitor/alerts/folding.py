"""Turn matches into alerts: one alert per event, subject and time window, however many outlets report it.

Identity. An alert is an event type about a main subject (a person, else a prison or place) within
``alerts.dedup_window`` of its other reports. Five outlets in two languages reporting one transfer are one
alert listing five sources (the rules engine reports watchlist entries by their canonical name, so the
Persian and English reports name the same subject). A later, more severe report about the same subject is a
new alert. A copy of an article already in an alert (syndicated text, a repost; see ``fingerprint.py``)
is listed under it but never re-alerted; so is a copy that names no subject.

Lifecycle: ``new`` -> ``updated`` (a new, non-copy source joined; channels with ``updates: true`` get an
update) -> ``acknowledged`` or ``dismissed`` (``lifecycle.py``).

Everything here is bookkeeping on the session the caller owns: the match, the alert and its deliveries
(the outbox) are committed in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from config.schema import SEVERITY_RANK
from monitor.alerts import fingerprint as fp
from monitor.alerts.outbox import open_alert, queue_deliveries
from storage import alerts_repo as repo
from storage.models import Alert, Item, Match

# Entity slots that name what an event is about, most specific first.
SUBJECT_KEYS = ("persons", "person", "prison_to", "prisons", "prison", "places", "place")
SUMMARY_CHARS = 400  # the alert's summary: the opening of its first report
MAX_EXACT_CHECKS = 20  # near-copy candidates compared word by word, closest SimHash first


@dataclass(frozen=True)
class AlertDecision:
    alert_id: int
    created: bool
    changed: bool  # created, or a new (non-copy) source joined: updates went to the channels that want them


@dataclass(frozen=True)
class Subject:
    name: str  # as reported (canonical watchlist name)
    key: str  # folded, for comparison


# --- identity --------------------------------------------------------------------------------------


def subject_key(name: str) -> str:
    return " ".join(fp.words(name))


def _names(value: object) -> list[str]:
    """Entity values as the engine may give them: "name", ["a", "b"], {"name": ...} or a list of those."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        name = value.get("name") or value.get("canonical") or value.get("id")
        return [str(name)] if name else []
    if isinstance(value, list | tuple):
        return [name for element in value for name in _names(element)]
    return []


def subjects(entities: dict[str, object]) -> list[Subject]:
    """Everyone (or else the prisons, or places) an event is about; the first is the main subject."""
    for slot in SUBJECT_KEYS:
        found: dict[str, Subject] = {}
        for name in _names(entities.get(slot)):
            key = subject_key(name)
            if key and key not in found:
                found[key] = Subject(name.strip(), key)
        if found:
            return list(found.values())
    return []


def main_subject(entities: dict[str, object]) -> str | None:
    found = subjects(entities)
    return found[0].name if found else None


def event_time(item: Item) -> datetime:
    return item.published_at or item.fetched_at


def item_fingerprint(item: Item) -> fp.Fingerprint:
    """The item's content fingerprint; stores its SimHash on the item the first time."""
    print_ = fp.fingerprint(fp.article_text(item.title, item.text))
    if item.fingerprint != print_.simhash:
        item.fingerprint = print_.simhash
    return print_


def _copy_of(session: Session, item: Item, candidates: list[tuple[int, int | None]]) -> int | None:
    """The id of a candidate item that ``item`` is a near-copy of, if any (closest SimHashes checked first)."""
    mine = item_fingerprint(item)
    limit = fp.candidate_distance(len(mine.shingles))
    close = sorted(
        (bits, item_id) for item_id, stored in candidates
        if item_id != item.id and stored is not None and (bits := fp.distance(mine.simhash, stored)) <= limit
    )[:MAX_EXACT_CHECKS]
    texts = repo.item_texts(session, [item_id for _bits, item_id in close])
    for _bits, other_id in close:
        title, text = texts[other_id]
        if fp.is_near_duplicate(mine, fp.fingerprint(fp.article_text(title, text))):
            return other_id
    return None


def _alert_with_copy(
    session: Session, match: Match, item: Item, config: TocsinConfig
) -> tuple[Alert, int] | None:
    """An alert of the same event type, seen within the window, holding an article this one copies."""
    since = event_time(item) - config.settings.alerts.dedup_window
    rows = repo.recent_event_fingerprints(session, event_type=match.event_type, since=since)
    original = _copy_of(session, item, [(item_id, stored) for _alert, item_id, stored in rows])
    if original is None:
        return None
    alert_id = next(alert for alert, item_id, _stored in rows if item_id == original)
    return session.get_one(Alert, alert_id), original


# --- folding matches into alerts ---------------------------------------------------------------------


def _title(event_type: str, subject: str | None, item: Item) -> str:
    """The first report's headline; the event and subject when it has none."""
    headline = " ".join((item.title or "").split())
    if headline:
        return headline
    label = event_type.replace("_", " ")
    return f"{label}: {subject}" if subject else f"{label}: {item.url}"


def lead(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The opening of the first report, cut at a sentence (or word) end within ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(mark) for mark in (". ", "! ", "? ", "۔ ", "؟ "))
    if end >= limit // 2:
        return cut[: end + 1]
    return cut.rsplit(" ", 1)[0] + " …"


def _dedup_key(match: Match, item: Item, subject: Subject | None, when: datetime) -> str:
    about = subject.key[:150] if subject else f"item:{item.content_sha256[:24]}"
    return f"{match.event_type}|{about}|{when:%Y-%m-%d}|{match.severity}"


def _new_alert(session: Session, match: Match, item: Item, config: TocsinConfig, *,
               found: list[Subject], escalates: Alert | None, now: datetime | None) -> AlertDecision:
    main = found[0] if found else None
    when = event_time(item)
    details: dict[str, object] = {"rule": match.rule_id, "entities": match.entities}
    if escalates is not None:
        details["escalates"] = escalates.id
    if len(found) > 1:
        details["subjects"] = [s.name for s in found]
    alert, _queued = open_alert(
        session,
        config,
        dedup_key=repo.unused_key(session, _dedup_key(match, item, main, when)),
        kind="event",
        event_type=match.event_type,
        severity=match.severity,
        subject=main.name if main else None,
        subject_key=main.key if main else None,
        title=_title(match.event_type, main.name if main else None, item),
        summary=lead(item.text),
        details=details,
        first_seen_at=when,
        last_seen_at=when,
        item=item,
        now=now,
    )
    match.alert_id = alert.id
    item_fingerprint(item)
    return AlertDecision(alert.id, created=True, changed=True)


def _join(session: Session, alert: Alert, match: Match, item: Item, config: TocsinConfig, *,
          now: datetime | None, copy_of: int | None = None) -> AlertDecision:
    """Add a report to an existing alert; only a genuinely new source makes an update."""
    already_there = repo.item_in_alert(session, alert_id=alert.id, item_id=item.id)
    when = event_time(item)
    alert.first_seen_at = min(alert.first_seen_at, when)
    alert.last_seen_at = max(alert.last_seen_at, when)
    if already_there:
        match.alert_id = alert.id
        return AlertDecision(alert.id, created=False, changed=False)
    if copy_of is None:
        copy_of = _copy_of(session, item, repo.original_fingerprints(session, alert.id))
    match.alert_id = alert.id
    match.duplicate_of_item_id = copy_of
    session.flush()
    if copy_of is not None or alert.state == "dismissed":
        return AlertDecision(alert.id, created=False, changed=False)
    alert.revision += 1
    if alert.state == "new":
        alert.state = "updated"
    queue_deliveries(session, alert, config, item=item, update=True, now=now)
    return AlertDecision(alert.id, created=False, changed=True)


def fold_match(session: Session, match: Match, item: Item, config: TocsinConfig, *,
               now: datetime | None = None) -> AlertDecision:
    """Attach ``match`` to its alert, creating the alert (and its outbox rows, due ``now``) when it is news."""
    found = subjects(match.entities)
    window = config.settings.alerts.dedup_window
    when = event_time(item)
    keys = [s.key for s in found]
    rank = SEVERITY_RANK.get(match.severity, 0)
    same_event = repo.event_alerts_in_window(session, event_type=match.event_type, subject_keys=keys,
                                             when=when, window=window)
    for alert in same_event:
        if SEVERITY_RANK.get(alert.severity, 0) >= rank:
            return _join(session, alert, match, item, config, now=now)
    if not same_event:
        copied = _alert_with_copy(session, match, item, config)
        if copied is not None and SEVERITY_RANK.get(copied[0].severity, 0) >= rank:
            return _join(session, copied[0], match, item, config, now=now, copy_of=copied[1])
        if not found:
            existing = repo.alert_by_key(session, _dedup_key(match, item, None, when))
            if existing is not None:
                return _join(session, existing, match, item, config, now=now)
    earlier = repo.event_alerts_in_window(session, event_type=None, subject_keys=keys, when=when,
                                          window=window)
    escalates = next((a for a in earlier if SEVERITY_RANK.get(a.severity, 0) < rank), None)
    return _new_alert(session, match, item, config, found=found, escalates=escalates, now=now)
