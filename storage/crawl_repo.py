"""Repository functions the crawler needs beyond storage.repository: HTTP validators, source health,
edit/deletion re-checks and evidence lookups. Each takes a Session and never commits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import Alert, CrawlRun, HttpCache, Item, ItemVersion, Match, Snapshot, Source, utcnow
from storage.records import SnapshotRecord
from storage.repository import add_snapshot, finish_crawl_run

# --- conditional GET --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validators:
    etag: str | None
    last_modified: str | None


def http_validators(session: Session, url: str) -> Validators | None:
    row = session.get(HttpCache, url)
    if row is None or not (row.etag or row.last_modified):
        return None
    return Validators(row.etag, row.last_modified)


def save_http_validators(session: Session, url: str, validators: Validators) -> None:
    row = session.get(HttpCache, url)
    if row is None:
        session.add(HttpCache(url=url, etag=validators.etag, last_modified=validators.last_modified,
                              updated_at=utcnow()))
    else:
        row.etag, row.last_modified, row.updated_at = validators.etag, validators.last_modified, utcnow()
    session.flush()


def known_item_urls(session: Session, source_id: str) -> set[str]:
    """URLs a source's stored items are known by: the canonical URL and the URL first requested
    (they differ when a page names another canonical URL), so neither is fetched again."""
    urls = set(session.scalars(select(Item.url).where(Item.source_id == source_id)))
    urls.update(session.scalars(
        select(Snapshot.url).join(Item, Item.snapshot_id == Snapshot.id).where(Item.source_id == source_id)
    ))
    return urls


# --- source health ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceHealth:
    """One source's health as the operator sees it.

    ``state`` is how its last runs went: ``failing`` (the last run failed, or it never succeeded),
    ``degraded`` (the last run worked but lost articles: ``article_failures`` says which and why),
    ``empty`` (``threshold`` runs in a row found no items) or ``ok``. ``problem`` is set once a state
    other than ok has lasted ``threshold`` runs in a row: the service then tells the operator.
    """

    source_id: str
    name: str
    kind: str
    url: str
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    consecutive_empty_runs: int
    consecutive_degraded_runs: int
    last_item_count: int
    article_failures: dict[str, Any]
    health_alerted_at: datetime | None
    state: str  # ok|degraded|failing|empty
    problem: str | None  # failing|empty|degraded|None

    @property
    def failure_reasons(self) -> str:
        return format_reasons(self.article_failures.get("reasons") or {})

    @property
    def description(self) -> str:
        """What is wrong, in one line (``healthy`` when nothing is)."""
        if self.state == "failing":
            if self.last_success_at is None:
                runs = f"{self.consecutive_failures} failed run{'' if self.consecutive_failures == 1 else 's'}"
                return f"has never crawled successfully ({runs}; last error: {self.last_error})"
            in_a_row = "run" if self.consecutive_failures == 1 else "runs in a row"
            return f"{self.consecutive_failures} failed {in_a_row} (last error: {self.last_error})"
        if self.state == "degraded":
            failed, requested = self.article_failures.get("failed", 0), self.article_failures.get("requested", 0)
            of = f" of {requested}" if requested >= failed else ""
            streak = (f" ({self.consecutive_degraded_runs} runs in a row)" if self.consecutive_degraded_runs > 1
                      else "")
            return f"{failed}{of} articles failed in the last run{streak}: {self.failure_reasons}"
        if self.state == "empty":
            return f"{self.consecutive_empty_runs} runs in a row found no items (broken selector or dead feed?)"
        return "healthy"


def format_reasons(reasons: dict[str, int]) -> str:
    """``HTTP 404 Not Found ×2; no answer from host within 30s ×1``, most frequent first."""
    ordered = sorted(reasons.items(), key=lambda item: (-int(item[1]), item[0]))
    return "; ".join(f"{why} ×{count}" for why, count in ordered)


def article_failure_counts(stats: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """(articles requested, {reason: count}) from a crawl's stats (``tocsin/article_failures/<reason>``)."""
    prefix = "tocsin/article_failures/"
    reasons = {key[len(prefix):]: int(value) for key, value in stats.items()
               if key.startswith(prefix) and int(value) > 0}
    return int(stats.get("tocsin/articles_requested", 0)), reasons


def finish_source_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    items_found: int,
    not_modified: bool = False,
    items_new: int = 0,
    items_updated: int = 0,
    pages_fetched: int = 0,
    error: str | None = None,
    stats: dict[str, Any] | None = None,
) -> None:
    """Close a run; ``items_found`` (items listed by the source, known or new) drives the empty-run count.

    A run whose index answered 304 Not Modified still lists what it listed last time: it keeps the
    previous count instead of counting as empty (unless that count was already 0). A run that worked
    but lost articles (``tocsin/article_failures/*`` in its stats) is degraded: the source keeps the
    run's failures by reason and counts such runs in a row.
    """
    run = session.get_one(CrawlRun, run_id)
    source = session.get_one(Source, run.source_id)
    empty_before, count_before = source.consecutive_empty_runs, source.last_item_count
    finish_crawl_run(session, run_id, status=status, items_seen=items_found, items_new=items_new,
                     items_updated=items_updated, pages_fetched=pages_fetched, error=error, stats=stats)
    if status == "ok" and items_found == 0 and not_modified and count_before > 0:
        source.consecutive_empty_runs, source.last_item_count = empty_before, count_before
    requested, reasons = article_failure_counts(stats or {})
    if status == "ok":
        failed = sum(reasons.values())
        source.article_failures = {"requested": requested, "failed": failed, "reasons": reasons}
        source.consecutive_degraded_runs = source.consecutive_degraded_runs + 1 if failed else 0
    session.flush()


def _state(source: Source) -> str:
    if source.consecutive_failures or (source.last_run_at is not None and source.last_success_at is None):
        return "failing"
    if source.consecutive_degraded_runs:
        return "degraded"
    return "ok"


def _health(source: Source, threshold: int) -> SourceHealth:
    state, problem = _state(source), None
    if source.consecutive_failures >= threshold:
        problem = "failing"
    elif source.consecutive_empty_runs >= threshold:
        state = problem = "empty"
    elif source.consecutive_degraded_runs >= threshold:
        problem = "degraded"
    return SourceHealth(
        source_id=source.id, name=source.name, kind=source.kind, url=source.url,
        last_run_at=source.last_run_at, last_success_at=source.last_success_at,
        last_error_at=source.last_error_at, last_error=source.last_error,
        consecutive_failures=source.consecutive_failures,
        consecutive_empty_runs=source.consecutive_empty_runs,
        consecutive_degraded_runs=source.consecutive_degraded_runs, last_item_count=source.last_item_count,
        article_failures=dict(source.article_failures or {}),
        health_alerted_at=source.health_alerted_at, state=state, problem=problem,
    )


def source_health(session: Session, threshold: int) -> dict[str, SourceHealth]:
    """Every source row's health, by id (sources never crawled have no row)."""
    return {s.id: _health(s, threshold) for s in session.scalars(select(Source).order_by(Source.id))}


def unhealthy_sources(
    session: Session, threshold: int, *, source_ids: Collection[str] | None = None
) -> list[SourceHealth]:
    """Sources that failed, ran but found no items, or lost articles ``threshold`` times in a row.

    ``source_ids`` limits the answer to sources still configured and enabled. A source that recovers
    has its counters reset by the next good run (storage.repository.finish_crawl_run).
    """
    query = select(Source).where(or_(Source.consecutive_failures >= threshold,
                                     Source.consecutive_empty_runs >= threshold,
                                     Source.consecutive_degraded_runs >= threshold))
    if source_ids is not None:
        query = query.where(Source.id.in_(list(source_ids)))
    return [_health(s, threshold) for s in session.scalars(query.order_by(Source.id))]


def mark_health_alerted(session: Session, source_id: str, when: datetime | None = None) -> None:
    """Remember that the operator was told (so one outage raises one alert)."""
    source = session.get_one(Source, source_id)
    source.health_alerted_at = when or utcnow()
    session.flush()



def source_rows(session: Session) -> dict[str, Source]:
    """Every source row (sources never crawled have none), by id."""
    return {row.id: row for row in session.scalars(select(Source))}


def consecutive_failures(session: Session) -> dict[str, int]:
    """Each source's count of failed crawls in a row, by id."""
    return {source_id: int(n) for source_id, n in session.execute(select(Source.id, Source.consecutive_failures))}


def item_counts(session: Session) -> dict[str, int]:
    """How many items each source has stored, by source id."""
    query = select(Item.source_id, func.count()).group_by(Item.source_id)
    return {source_id: int(n) for source_id, n in session.execute(query)}


def last_crawl_starts(session: Session) -> dict[str, datetime]:
    """When each source's last crawl started, from the crawl runs the runner records (or, once
    housekeeping deleted old runs, when it last finished)."""
    finished = session.execute(select(Source.id, Source.last_run_at))
    starts = {source_id: _aware(when) for source_id, when in finished if when is not None}
    rows = session.execute(
        select(CrawlRun.source_id, func.max(CrawlRun.started_at)).group_by(CrawlRun.source_id)
    )
    starts.update({source_id: _aware(when) for source_id, when in rows if when is not None})
    return starts

# --- items: details, re-checks, removal -------------------------------------------------------------


def set_item_details(session: Session, item_id: int, details: dict[str, Any]) -> None:
    item = session.get_one(Item, item_id)
    item.details = {**(item.details or {}), **details}
    session.flush()


def add_item_flags(session: Session, item_id: int, flags: Sequence[str]) -> None:
    item = session.get_one(Item, item_id)
    current = list(item.flags or [])
    item.flags = current + [flag for flag in flags if flag not in current]
    session.flush()


@dataclass(frozen=True)
class RecheckTarget:
    """An item to fetch again to see whether it was edited or deleted."""

    item_id: int
    url: str
    source_id: str
    source_kind: str
    external_id: str | None
    snapshot_url: str | None


def due_rechecks(
    session: Session,
    *,
    now: datetime,
    recheck_for: timedelta,
    min_interval: timedelta,
    limit: int = 200,
) -> list[RecheckTarget]:
    """Active items that matched a rule and are still inside their re-check window.

    The window ends at ``Item.recheck_until`` when set, else ``recheck_for`` after the item's first
    match. Items checked less than ``min_interval`` ago wait; the least recently checked go first.
    """
    first_match = (
        select(Match.item_id, func.min(Match.created_at).label("first_match_at"))
        .group_by(Match.item_id)
        .subquery()
    )
    query = (
        select(Item, Source.kind, Snapshot.url, first_match.c.first_match_at)
        .join(first_match, first_match.c.item_id == Item.id)
        .join(Source, Source.id == Item.source_id)
        .outerjoin(Snapshot, Snapshot.id == Item.snapshot_id)
        .where(Item.status == "active", Item.matched_version > 0)
        .where(or_(Item.checked_at.is_(None), Item.checked_at <= now - min_interval))
        .order_by(Item.checked_at.is_not(None), Item.checked_at, Item.id)
    )
    targets: list[RecheckTarget] = []
    for item, kind, snapshot_url, first_match_at in session.execute(query):
        until = item.recheck_until or (_aware(first_match_at) + recheck_for)
        if until <= now:
            continue
        targets.append(RecheckTarget(item.id, item.url, item.source_id, kind, item.external_id, snapshot_url))
        if len(targets) >= limit:
            break
    return targets


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def mark_checked(session: Session, item_id: int, when: datetime | None = None) -> None:
    item = session.get_one(Item, item_id)
    item.checked_at = when or utcnow()
    session.flush()


def mark_removed(session: Session, item_id: int, *, reason: str, evidence: SnapshotRecord | None,
                 when: datetime | None = None) -> bool:
    """Record that an item's page is gone; returns False when it was already marked removed."""
    item = session.get_one(Item, item_id)
    when = when or utcnow()
    item.checked_at = when
    if item.status == "removed":
        return False
    item.status, item.removed_at, item.removal_reason = "removed", when, reason
    if evidence is not None:
        snapshot = add_snapshot(session, evidence)
        item.details = {**(item.details or {}), "removal_snapshot_id": snapshot.id}
    session.flush()
    return True


# --- evidence ---------------------------------------------------------------------------------------


def item_snapshots(session: Session, item_id: int) -> list[Snapshot]:
    """Every response kept for an item: each earlier version's, the current one, and the removal's."""
    item = session.get_one(Item, item_id)
    ids: list[int] = [v.snapshot_id for v in session.scalars(
        select(ItemVersion).where(ItemVersion.item_id == item_id).order_by(ItemVersion.version)
    ) if v.snapshot_id is not None]
    if item.snapshot_id is not None:
        ids.append(item.snapshot_id)
    removal = (item.details or {}).get("removal_snapshot_id")
    if isinstance(removal, int):
        ids.append(removal)
    unique = list(dict.fromkeys(ids))
    by_id = {s.id: s for s in session.scalars(select(Snapshot).where(Snapshot.id.in_(unique)))}
    return [by_id[i] for i in unique if i in by_id]


def alert_item_ids(session: Session, alert_id: int) -> list[int]:
    """The items behind an alert, oldest first; raises LookupError for an unknown alert.

    That is the items whose matches fed it and, for a removal alert (which has no matches), the removed
    item: named in the alert's details, or linked to it by ``Item.removal_alert_id``.
    """
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise LookupError(f"no alert with id {alert_id}")
    ids = set(session.scalars(select(Match.item_id).where(Match.alert_id == alert_id)))
    ids.update(session.scalars(select(Item.id).where(Item.removal_alert_id == alert_id)))
    named = (alert.details or {}).get("item_id") if alert.kind == "removal" else None
    if isinstance(named, int) and session.get(Item, named) is not None:
        ids.add(named)
    return sorted(ids)
