"""Turn matches into alerts: one alert per event, subject and time window, however many outlets report it.

Identity. An alert is an event type about a main subject (a person, else a prison or place) within
``alerts.dedup_window`` of its other reports. Five outlets in two languages reporting one transfer are one
alert listing five sources (the rules engine reports watchlist entries by their canonical name, so the
Persian and English reports name the same subject). A later, more severe report about the same subject is a
new alert. A copy of an article already in an alert (syndicated text, a repost; see ``fingerprint.py``)
is listed under it but never re-alerted; so is a copy that names no subject.

Lifecycle: ``new`` -> ``updated`` (a new, non-copy source joined; channels with ``updates: true`` get an
update) -> ``acknowledged`` or ``dismissed`` (with a reason, kept for the rules backtest).

Everything here is bookkeeping on the session the caller owns: the match, the alert and its deliveries
(the outbox) are committed in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from config.errors import AlertError
from config.loader import TocsinConfig
from config.schema import SEVERITY_RANK
from monitor.alerts import fingerprint as fp
from monitor.alerts.routing import AlertFacts, route
from storage import alerts_repo as repo
from storage.alerts_repo import DismissedAlert
from storage.models import Alert, Delivery, Item, Match, utcnow

log = logging.getLogger(__name__)

# Entity slots that name what an event is about, most specific first.
SUBJECT_KEYS = ("persons", "person", "prison_to", "prisons", "prison", "places", "place")
OPERATOR_SEVERITY = "warning"
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


def facts_for(alert: Alert, item: Item | None) -> AlertFacts:
    tags = frozenset(item.source.tags) if item is not None and item.source is not None else frozenset()
    return AlertFacts(severity=alert.severity, event_type=alert.event_type, tags=tags,
                      language=item.lang if item is not None else None)


def queue_deliveries(session: Session, alert: Alert, config: TocsinConfig, *, item: Item | None,
                     update: bool, now: datetime | None = None) -> list[Delivery]:
    """Write the outbox rows for this revision of the alert: one per channel that wants it."""
    if alert.kind == "operator":
        name = config.settings.operator_channel
        channels = [name] if name and name in config.enabled_channels() else []
    else:
        channels = route(config.enabled_channels(), facts_for(alert, item))
    queued = []
    for name in channels:
        if update and repo.has_unsent_delivery(session, alert_id=alert.id, channel=name):
            continue  # the message still waiting is rendered when sent, so it will list this source too
        seen_before = update and repo.has_delivery(session, alert_id=alert.id, channel=name)
        if seen_before and not config.settings.channels[name].updates:
            continue
        delivery = Delivery(alert_id=alert.id, channel=name, revision=alert.revision,
                            kind="update" if seen_before else "new", next_attempt_at=now or utcnow(),
                            created_at=now or utcnow())
        session.add(delivery)
        queued.append(delivery)
    session.flush()
    return queued


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
    alert = Alert(
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
    )
    session.add(alert)
    session.flush()
    match.alert_id = alert.id
    item_fingerprint(item)
    queue_deliveries(session, alert, config, item=item, update=False, now=now)
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


# --- lifecycle -------------------------------------------------------------------------------------


def _get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.kind not in repo.EVENT_KINDS:
        raise AlertError(f"no alert {alert_id} (see `tocsin alerts list`)")
    return alert


def acknowledge(session: Session, alert_id: int, *, now: datetime | None = None) -> Alert:
    """Someone is on it. Later sources still reach channels that want updates."""
    alert = _get(session, alert_id)
    if alert.state == "dismissed":
        raise AlertError(f"alert {alert_id} was dismissed ({alert.dismiss_reason}); "
                         "it cannot be acknowledged")
    if alert.state != "acknowledged":
        alert.state, alert.acknowledged_at = "acknowledged", now or utcnow()
    return alert


def dismiss(session: Session, alert_id: int, *, reason: str, now: datetime | None = None) -> Alert:
    """A false positive: nothing more is sent about it, and it stays queryable (``dismissed_alerts``)."""
    reason = " ".join(reason.split())
    if not reason:
        raise AlertError("say why the alert is dismissed (--reason); the rules backtest reads it")
    alert = _get(session, alert_id)
    alert.state, alert.dismissed_at, alert.dismiss_reason = "dismissed", now or utcnow(), reason
    for delivery in alert.deliveries:
        if delivery.status in ("pending", "held", "overflow"):
            delivery.status, delivery.last_error = "skipped", "alert dismissed before it was sent"
    return alert


def dismissed_alerts(session: Session, *, since: datetime | None = None) -> list[DismissedAlert]:
    """Dismissed alerts with the rule and item version of every match, for the rules backtest."""
    return repo.dismissed_alerts(session, since=since)


def retry(session: Session, alert_id: int, *, now: datetime | None = None) -> list[Delivery]:
    """Re-queue the alert's dead deliveries (and dead digests or summaries it was in) with a fresh budget."""
    _get(session, alert_id)
    requeued = _requeue(repo.dead_deliveries(session, alert_id), now or utcnow())
    if not requeued:
        raise AlertError(f"alert {alert_id} has no dead delivery to retry")
    return requeued


def retry_channel(session: Session, channel: str, *, now: datetime | None = None) -> list[Delivery]:
    """Re-queue every dead delivery to ``channel`` (alerts, digests, summaries) with a fresh budget.

    For after a channel outage or a misconfiguration fixed (a wrong chat id is dead after one attempt).
    Deliveries of dismissed alerts stay dead. Returns the re-queued deliveries (none is not an error).
    """
    return _requeue(repo.dead_deliveries_to(session, channel), now or utcnow())


def _requeue(deliveries: list[Delivery], now: datetime) -> list[Delivery]:
    for delivery in deliveries:
        delivery.status, delivery.next_attempt_at = "pending", now
        for attempt in delivery.attempt_log:
            if attempt.outcome in repo.FAILED_OUTCOMES:
                attempt.outcome = f"{attempt.outcome}+retried"  # no longer counts towards max_attempts
    return deliveries


# --- operator alerts -------------------------------------------------------------------------------


def raise_operator_alert(session: Session, config: TocsinConfig, *, key: str, title: str, summary: str,
                         severity: str = OPERATOR_SEVERITY, now: datetime | None = None) -> AlertDecision:
    """Tell the operator about a source-health or configuration problem (``settings.operator_channel``).

    The same ``key`` (e.g. ``source:hrana:unhealthy``) raised again while its alert is open only refreshes
    it; after the alert is acknowledged or dismissed (or resolved), raising the key again is news.
    """
    now = now or utcnow()
    existing = repo.latest_operator_alert(session, key)
    if existing is not None and existing.state in ("new", "updated"):
        existing.last_seen_at, existing.summary, existing.title = now, summary, title
        return AlertDecision(existing.id, created=False, changed=False)
    alert = Alert(
        dedup_key=repo.unused_key(session, f"operator|{key}|{now:%Y-%m-%dT%H:%M:%S}"),
        kind="operator", event_type="operator", severity=severity, subject=key, subject_key=key,
        title=title, summary=summary, details={"key": key}, first_seen_at=now, last_seen_at=now,
    )
    session.add(alert)
    session.flush()
    if not queue_deliveries(session, alert, config, item=None, update=False, now=now):
        log.warning("operator alert %r has no channel to go to (set operator_channel): %s", key, title)
    return AlertDecision(alert.id, created=True, changed=True)


def resolve_operator_alert(session: Session, *, key: str) -> bool:
    """The problem went away: close the open alert so the next occurrence is raised afresh."""
    existing = repo.latest_operator_alert(session, key)
    if existing is None or existing.state not in ("new", "updated"):
        return False
    existing.state, existing.acknowledged_at = "acknowledged", utcnow()
    existing.details = {**existing.details, "resolved_at": utcnow().isoformat()}
    return True
