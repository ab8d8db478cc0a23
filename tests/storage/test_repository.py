"""Items are deduplicated by canonical URL and content hash; edits become versions with a diff."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Item, ItemVersion, Snapshot
from storage.records import ItemRecord, SnapshotRecord, StoreOutcome
from storage.repository import pending_item_ids, snapshot_body, store_item, sync_source


def record(url: str = "http://127.0.0.1/a", text: str = "Nine prisoners were executed.", **kw: object) -> ItemRecord:
    body = f"<html><body>{text}</body></html>".encode()
    snap = SnapshotRecord(url=url, final_url=url, status=200, headers={"Content-Type": "text/html"}, body=body,
                          fetched_at=datetime.now(UTC))
    return ItemRecord(source_id=str(kw.pop("source_id", "s1")), url=url, title=str(kw.pop("title", "Title")),
                      text=text, fetched_at=datetime.now(UTC), snapshot=snap)


@pytest.fixture
def db(any_database: Database) -> Database:
    database = any_database
    with database.write() as session:
        sync_source(session, source_id="s1", kind="feed", name="S1", url="http://127.0.0.1/", tags=[])
        sync_source(session, source_id="s2", kind="feed", name="S2", url="http://127.0.0.1/", tags=[])
    return database


def store(db: Database, rec: ItemRecord) -> StoreOutcome:
    with db.write() as session:
        return store_item(session, rec).outcome


def test_same_url_twice_is_stored_once(db: Database) -> None:
    assert store(db, record()) is StoreOutcome.NEW
    assert store(db, record()) is StoreOutcome.UNCHANGED
    with db.read() as session:
        assert len(session.scalars(select(Item)).all()) == 1


def test_whitespace_only_change_is_not_an_edit(db: Database) -> None:
    store(db, record(text="Nine prisoners   were executed."))
    assert store(db, record(text="Nine prisoners were\nexecuted.")) is StoreOutcome.UNCHANGED


def test_same_text_under_another_url_of_the_same_source_is_a_duplicate(db: Database) -> None:
    store(db, record(url="http://127.0.0.1/a"))
    assert store(db, record(url="http://127.0.0.1/a?amp=1")) is StoreOutcome.DUPLICATE
    # ...but another outlet publishing the same text is a separate item (another source is evidence too).
    assert store(db, record(url="http://127.0.0.1/b", source_id="s2")) is StoreOutcome.NEW


def test_edit_keeps_the_old_version_with_a_diff_and_needs_matching_again(db: Database) -> None:
    store(db, record(text="He was transferred to Ghezel Hesar."))
    with db.write() as session:
        item = session.scalars(select(Item)).one()
        item.matched_version = item.version
    assert store(db, record(text="He was transferred to Zahedan Prison.")) is StoreOutcome.UPDATED
    with db.read() as session:
        item = session.scalars(select(Item)).one()
        old = session.scalars(select(ItemVersion)).one()
        assert item.version == 2 and "Zahedan" in item.text
        assert old.version == 1 and "Ghezel Hesar" in old.text
        assert "-He was transferred to Ghezel Hesar." in (old.diff or "")
        assert pending_item_ids(session) == [item.id]


def test_raw_evidence_is_kept_compressed_with_its_hash(db: Database) -> None:
    rec = record(text="x" * 10_000)
    store(db, rec)
    with db.read() as session:
        snap = session.scalars(select(Snapshot)).one()
        assert rec.snapshot is not None
        assert snapshot_body(snap) == rec.snapshot.body
        assert len(snap.body_gzip or b"") < len(rec.snapshot.body) / 10
        assert gzip.decompress(snap.body_gzip or b"") == rec.snapshot.body
        import hashlib
        assert snap.sha256 == hashlib.sha256(rec.snapshot.body).hexdigest()
