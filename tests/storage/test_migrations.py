"""Alembic owns the schema: empty -> head -> downgrade -> head, no drift, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select

from storage import migrate
from storage.db import Database
from storage.models import Base, Item, Source
from storage.records import ItemRecord
from storage.repository import store_item, sync_source


def _round_trip(url: str) -> None:
    db = Database(url)
    try:
        assert migrate.current_revision(db) is None
        migrate.upgrade(db)
        assert migrate.current_revision(db) == migrate.head_revision(db)
        assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
        migrate.check(db)  # models and migrations agree (alembic check)
        with db.write() as session:
            sync_source(session, source_id="s1", kind="feed", name="S", url="http://127.0.0.1/", tags=["x"])
            store_item(session, ItemRecord(source_id="s1", url="http://127.0.0.1/a", title="T", text="body",
                                           fetched_at=datetime.now(UTC)))
        migrate.downgrade(db, "base")
        assert "items" not in inspect(db.engine).get_table_names()
        migrate.upgrade(db)
        migrate.upgrade(db)  # idempotent: upgrading an up-to-date database is a no-op
        with db.read() as session:
            assert session.scalars(select(Source)).all() == []
    finally:
        db.dispose()


def test_sqlite_upgrade_downgrade_and_no_drift(sqlite_url: str) -> None:
    _round_trip(sqlite_url)


@pytest.mark.postgres
def test_postgres_upgrade_downgrade_and_no_drift(postgres_url: str) -> None:
    _round_trip(postgres_url)


def test_single_head(database: Database) -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config(database.url)).get_heads()
    assert len(heads) == 1, f"migrations have several heads {heads}: re-point the newest at the other"


@pytest.mark.postgres
def test_data_survives_upgrade_on_postgres(postgres_url: str) -> None:
    db = Database(postgres_url)
    migrate.upgrade(db)
    with db.write() as session:
        sync_source(session, source_id="s1", kind="feed", name="S", url="http://127.0.0.1/", tags=[])
        store_item(session, ItemRecord(source_id="s1", url="http://127.0.0.1/a", title="عنوان", text="متن",
                                       fetched_at=datetime.now(UTC)))
    migrate.upgrade(db)
    with db.read() as session:
        item = session.scalars(select(Item)).one()
        assert item.title == "عنوان" and item.fetched_at.tzinfo is not None
    db.dispose()
