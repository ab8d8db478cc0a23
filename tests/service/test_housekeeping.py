"""Housekeeping keeps months of running bounded: raw evidence by age and size (the alerts' evidence and
every hash kept), old crawl runs, old send attempts of finished deliveries, stale HTTP validators, crash
leftovers, database maintenance."""

from __future__ import annotations

import gzip
import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from config.schema import ServiceSettings
from monitor.service import housekeeping
from storage.db import Database
from storage.models import (
    Alert,
    CrawlRun,
    Delivery,
    DeliveryAttempt,
    HttpCache,
    Item,
    Match,
    Snapshot,
    Source,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BODY = 8000


def add_snapshot(database: Database, name: str, *, age_days: float, matched: bool = False) -> int:
    body = random.Random(name).randbytes(BODY)  # incompressible, like a real gzip-sized body
    with database.write() as session:
        if session.get(Source, "src") is None:
            session.add(Source(id="src", kind="feed", name="src", url="http://127.0.0.1/feed"))
            session.flush()
        fetched = NOW - timedelta(days=age_days)
        snapshot = Snapshot(
            url=f"http://127.0.0.1/{name}",
            final_url=f"http://127.0.0.1/{name}",
            status=200,
            headers={},
            body_gzip=gzip.compress(body, mtime=0),
            body_size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            fetched_at=fetched,
        )
        session.add(snapshot)
        session.flush()
        item = Item(
            source_id="src",
            url=f"http://127.0.0.1/{name}",
            title=name,
            text=name,
            content_sha256=hashlib.sha256(name.encode()).hexdigest(),
            snapshot_id=snapshot.id,
            fetched_at=fetched,
        )
        session.add(item)
        session.flush()
        if matched:
            session.add(
                Match(item_id=item.id, rule_id="r", event_type="execution", severity="critical")
            )
        return snapshot.id


def bodies(database: Database) -> dict[int, bool]:
    """Snapshot id -> whether its raw body is still stored (every hash is always kept)."""
    with database.read() as session:
        rows = session.scalars(select(Snapshot)).all()
        assert all(len(row.sha256) == 64 for row in rows)
        return {row.id: row.body_gzip is not None for row in rows}


def test_evidence_older_than_the_limit_is_pruned_but_the_alerts_evidence_is_kept(
    database: Database,
) -> None:
    old = add_snapshot(database, "old", age_days=400)
    old_matched = add_snapshot(database, "old-matched", age_days=400, matched=True)
    recent = add_snapshot(database, "recent", age_days=3)
    report = housekeeping.prune_evidence(
        database, max_age=timedelta(days=365), max_bytes=10**9, now=NOW
    )
    assert bodies(database) == {old: False, old_matched: True, recent: True}
    assert report.pruned == 1 and report.bytes_freed > 0
    with database.read() as session:
        assert session.get_one(Snapshot, old).pruned_at == NOW


def test_evidence_over_the_size_budget_goes_oldest_first(database: Database) -> None:
    ids = [add_snapshot(database, f"s{n}", age_days=10 - n) for n in range(5)]
    total = housekeeping.stored_evidence_bytes(database)
    budget = total * 3 // 5 + 10  # room for three of the five
    report = housekeeping.prune_evidence(
        database, max_age=timedelta(days=365), max_bytes=budget, now=NOW
    )
    assert bodies(database) == {
        ids[0]: False,
        ids[1]: False,
        ids[2]: True,
        ids[3]: True,
        ids[4]: True,
    }
    assert report.stored_bytes <= budget and not report.over_budget


def test_when_only_the_alerts_evidence_is_left_over_budget_it_is_kept_and_said(
    database: Database,
) -> None:
    kept = add_snapshot(database, "matched", age_days=1, matched=True)
    other = add_snapshot(database, "other", age_days=2)
    report = housekeeping.prune_evidence(
        database, max_age=timedelta(days=365), max_bytes=10, now=NOW
    )
    assert bodies(database) == {kept: True, other: False}
    assert report.over_budget


def test_without_keep_matched_even_the_alerts_evidence_ages_out(database: Database) -> None:
    matched = add_snapshot(database, "matched", age_days=400, matched=True)
    housekeeping.prune_evidence(
        database, max_age=timedelta(days=365), max_bytes=10**9, keep_matched=False, now=NOW
    )
    assert bodies(database) == {matched: False}


def test_old_crawl_runs_are_deleted_and_recent_ones_kept(database: Database) -> None:
    add_snapshot(database, "x", age_days=1)
    with database.write() as session:
        session.add_all(
            [
                CrawlRun(source_id="src", started_at=NOW - timedelta(days=200), status="ok"),
                CrawlRun(source_id="src", started_at=NOW - timedelta(days=5), status="failed"),
            ]
        )
    assert housekeeping.prune_crawl_runs(database, older_than=timedelta(days=90), now=NOW) == 1
    with database.read() as session:
        assert [run.status for run in session.scalars(select(CrawlRun))] == ["failed"]


def test_crawl_runs_left_running_by_a_killed_service_are_closed_at_start(
    database: Database,
) -> None:
    add_snapshot(database, "x", age_days=1)
    with database.write() as session:
        session.add(CrawlRun(source_id="src", started_at=NOW, status="running"))
    report = housekeeping.recover_after_crash(database, now=NOW + timedelta(minutes=1))
    assert report.crawl_runs_closed == 1
    with database.read() as session:
        [run] = session.scalars(select(CrawlRun)).all()
        assert (
            run.status == "killed"
            and run.finished_at is not None
            and "stopped" in (run.error or "")
        )


def test_sqlite_maintenance_optimizes_and_reclaims_space(database: Database) -> None:
    for n in range(30):
        add_snapshot(database, f"s{n}", age_days=400)
    housekeeping.prune_evidence(database, max_age=timedelta(days=365), max_bytes=10**9, now=NOW)
    first = housekeeping.maintain_database(database)
    assert "PRAGMA optimize" in first and "wal_checkpoint" in first
    assert "VACUUM" in first  # most pages were free: switched to incremental vacuum once
    assert "incremental_vacuum" in housekeeping.maintain_database(database)


def test_a_housekeeping_run_reports_what_it_did(database: Database) -> None:
    add_snapshot(database, "old", age_days=500)
    report = housekeeping.run_housekeeping(database, ServiceSettings(), now=NOW)
    assert report.evidence.pruned == 1 and report.crawl_runs_deleted == 0 and report.maintenance


# --- the outbox's attempt log and the conditional-GET cache stay bounded ---------------------------------

FINAL = ("sent", "dead", "skipped", "folded")
UNFINISHED = ("pending", "sending", "held", "overflow")


def add_deliveries_with_attempts(database: Database) -> dict[str, int]:
    """One alert with a delivery in every status, each with an attempt 200 days old and one 5 days old."""
    with database.write() as session:
        alert = Alert(dedup_key="k", event_type="execution", severity="critical", title="t",
                      first_seen_at=NOW - timedelta(days=300), last_seen_at=NOW - timedelta(days=300))
        session.add(alert)
        session.flush()
        ids = {}
        for revision, status in enumerate(FINAL + UNFINISHED, start=1):
            delivery = Delivery(alert_id=alert.id, channel="tg", revision=revision, status=status,
                                created_at=NOW - timedelta(days=300))
            session.add(delivery)
            session.flush()
            ids[status] = delivery.id
            for number, age in enumerate((200, 5), start=1):
                outcome = "sending" if status == "sending" and age == 5 else "failed"
                session.add(DeliveryAttempt(delivery_id=delivery.id, number=number, outcome=outcome,
                                            started_at=NOW - timedelta(days=age), error="HTTP 502"))
        return ids


def attempt_ages(database: Database) -> dict[int, list[int]]:
    """Delivery id -> ages in days of its remaining attempts."""
    found: dict[int, list[int]] = {}
    with database.read() as session:
        for attempt in session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)):
            found.setdefault(attempt.delivery_id, []).append((NOW - attempt.started_at).days)
    return found


def test_old_attempts_of_finished_deliveries_are_pruned_and_unfinished_ones_kept_whatever_their_age(
    any_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(housekeeping, "BATCH", 3)  # several short transactions, as with a big table
    ids = add_deliveries_with_attempts(any_database)
    report = housekeeping.run_housekeeping(any_database, ServiceSettings(), now=NOW)  # 90 days
    assert report.delivery_attempts_deleted == len(FINAL)
    expected = {ids[status]: [5] for status in FINAL} | {ids[status]: [200, 5] for status in UNFINISHED}
    assert attempt_ages(any_database) == expected
    with any_database.read() as session:  # the deliveries themselves (status, last error) all stay
        assert sorted(session.scalars(select(Delivery.status))) == sorted(FINAL + UNFINISHED)


def test_attempt_retention_is_a_setting(database: Database) -> None:
    ids = add_deliveries_with_attempts(database)
    settings = ServiceSettings(delivery_attempt_retention=timedelta(days=1))
    assert housekeeping.run_housekeeping(database, settings, now=NOW).delivery_attempts_deleted == 2 * len(FINAL)
    assert set(attempt_ages(database)) == {ids[status] for status in UNFINISHED}


def test_stale_http_validators_are_dropped(any_database: Database) -> None:
    with any_database.write() as session:
        session.add_all([
            HttpCache(url="http://127.0.0.1/feed", etag='"a"', updated_at=NOW - timedelta(days=2)),
            HttpCache(url="http://127.0.0.1/list?page=7", etag='"b"', updated_at=NOW - timedelta(days=120)),
        ])
    report = housekeeping.run_housekeeping(any_database, ServiceSettings(), now=NOW)
    assert report.http_cache_deleted == 1
    with any_database.read() as session:
        assert list(session.scalars(select(HttpCache.url))) == ["http://127.0.0.1/feed"]
