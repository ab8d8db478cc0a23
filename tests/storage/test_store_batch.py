"""Batch storage: a batch ends as storing its records one by one would, and one response is one snapshot."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from storage import migrate
from storage.db import Database
from storage.models import Item, ItemVersion, Snapshot
from storage.records import BodyEvidence, ItemRecord, SnapshotRecord, StoreOutcome, StoreResult
from storage.repository import SnapshotKey, snapshot_body, store_item, store_items, sync_source

CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "store_batch_cases.yaml").read_text())
T0 = datetime(2025, 7, 19, 8, 0, tzinfo=UTC)


def response(url: str, body: bytes, *, at: datetime = T0) -> SnapshotRecord:
    return SnapshotRecord(url=url, final_url=url, status=200, headers={"Content-Type": "text/html"}, body=body,
                          fetched_at=at)


def record(spec: dict[str, Any], *, snapshot: SnapshotRecord | None = None, **extra: Any) -> ItemRecord:
    url = f"http://127.0.0.1/{spec['url']}"
    body = f"<html><body><h1>{spec.get('title', 'Title')}</h1>{spec['text']}</body></html>".encode()
    return ItemRecord(source_id=spec.get("source", "s1"), url=url, title=spec.get("title", "Title"),
                      text=spec["text"], fetched_at=T0, snapshot=snapshot or response(url, body), **extra)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the two sources, copied for each comparison (migrating costs ~1 s)."""
    path = tmp_path_factory.mktemp("template") / "tocsin.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    with database.write() as session:
        for source in ("s1", "s2"):
            sync_source(session, source_id=source, kind="feed", name=source, url="http://127.0.0.1/", tags=[])
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def db(any_database: Database) -> Database:
    with any_database.write() as session:
        for source in ("s1", "s2"):
            sync_source(session, source_id=source, kind="feed", name=source, url="http://127.0.0.1/", tags=[])
    return any_database


def state(database: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with database.read() as session:
        items = [(i.id, i.url, i.source_id, i.version, i.title, i.text, i.content_sha256)
                 for i in session.scalars(select(Item).order_by(Item.id))]
        versions = [(v.item_id, v.version, v.text, v.diff)
                    for v in session.scalars(select(ItemVersion).order_by(ItemVersion.id))]
    return items, versions


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_a_batch_ends_as_storing_one_by_one_would(case: dict[str, Any], db: Database, tmp_path: Path,
                                                  template: Path) -> None:
    shutil.copyfile(template, tmp_path / "one_by_one.db")
    one_by_one = Database(f"sqlite:///{tmp_path / 'one_by_one.db'}")
    try:
        expected: list[StoreResult] = []
        for database in (db, one_by_one):
            with database.write() as session:
                for spec in case.get("stored", []):
                    store_item(session, record(spec))
        with one_by_one.write() as session:
            expected = [store_item(session, record(spec)) for spec in case["batch"]]
        with db.write() as session:
            results = store_items(session, [record(spec) for spec in case["batch"]])

        assert [r.outcome.value for r in results] == case["expect"]
        assert results == expected
        assert state(db) == state(one_by_one)
        for first, second in case.get("same_item", []):
            assert results[first].item_id == results[second].item_id
    finally:
        one_by_one.dispose()


def test_posts_of_one_page_share_its_snapshot(db: Database) -> None:
    page = b"<html>" + b"channel page " * 500 + b"</html>"
    url = "http://127.0.0.1/s/channel"
    posts = [record({"url": f"channel/{n}", "text": f"post {n}"},
                    snapshot=response(url, page, at=T0 + timedelta(microseconds=n))) for n in range(5)]
    other = record({"url": "article", "text": "an article"})
    remembered: dict[SnapshotKey, int] = {}
    with db.write() as session:
        first = store_items(session, [*posts[:3], other], snapshot_ids=remembered)
    with db.write() as session:  # the rest of the page arrives in the next batch
        later = store_items(session, posts[3:], snapshot_ids=remembered)
    assert [r.outcome for r in first + later] == [StoreOutcome.NEW] * 6
    with db.read() as session:
        snapshots = session.scalars(select(Snapshot).order_by(Snapshot.id)).all()
        assert len(snapshots) == 2
        page_snapshot = next(s for s in snapshots if s.url == url)
        assert snapshot_body(page_snapshot) == page
        assert page_snapshot.sha256 == hashlib.sha256(page).hexdigest()
        by_url = {i.url: i.snapshot_id for i in session.scalars(select(Item))}
        assert {by_url[p.url] for p in posts} == {page_snapshot.id}
        assert by_url[other.url] != page_snapshot.id


def test_another_response_of_the_same_url_is_its_own_snapshot(db: Database) -> None:
    url = "http://127.0.0.1/s/channel"
    first = record({"url": "channel/1", "text": "post 1"}, snapshot=response(url, b"<html>page one</html>"))
    second = record({"url": "channel/2", "text": "post 2"}, snapshot=response(url, b"<html>page two</html>"))
    with db.write() as session:
        store_items(session, [first, second])
    with db.read() as session:
        assert len(session.scalars(select(Snapshot)).all()) == 2


def test_evidence_computed_in_the_worker_is_stored_as_given(db: Database) -> None:
    body = b"<html>" + "گزارش ".encode() * 1000 + b"</html>"
    evidence = BodyEvidence.of(body)
    url = "http://127.0.0.1/fa"
    snapshot = SnapshotRecord(url=url, final_url=url, status=200, headers={}, body=body, fetched_at=T0,
                              evidence=evidence)
    with db.write() as session:
        store_items(session, [record({"url": "fa", "text": "متن"}, snapshot=snapshot)])
    with db.read() as session:
        stored = session.scalars(select(Snapshot)).one()
        assert stored.body_gzip == evidence.body_gzip and stored.sha256 == evidence.sha256
        assert snapshot_body(stored) == body and stored.body_size == len(body)


def test_details_are_kept_and_merged_and_flags_added_on_edit(db: Database) -> None:
    with db.write() as session:
        store_items(session, [record({"url": "a", "text": "one"}, details={"encoding": "utf-8", "post_id": 7})])
    with db.write() as session:
        [result] = store_items(session, [record({"url": "a", "text": "two"}, details={"encoding": "windows-1256"},
                                                flags=("suspicious_encoding",))])
    assert result.outcome is StoreOutcome.UPDATED
    with db.read() as session:
        item = session.scalars(select(Item)).one()
        assert item.details == {"encoding": "windows-1256", "post_id": 7}
        assert item.flags == ["suspicious_encoding"]


def test_a_batch_larger_than_one_lookup_is_stored_whole(db: Database) -> None:
    records = [record({"url": f"n/{n}", "text": f"text {n}"}) for n in range(1200)]
    with db.write() as session:
        results = store_items(session, records)
    assert [r.outcome for r in results] == [StoreOutcome.NEW] * 1200
    assert len({r.item_id for r in results}) == 1200
    with db.read() as session:
        assert len(session.scalars(select(Item.id)).all()) == 1200
