"""SQLite under several writers: WAL on, and read-then-write transactions never fail with 'locked'."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from storage.db import Database
from storage.models import Item
from storage.records import ItemRecord
from storage.repository import store_item, sync_source


def test_wal_is_on(database: Database) -> None:
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_four_writers_and_a_reader_never_see_database_is_locked(sqlite_url: str, database: Database) -> None:
    with database.write() as session:
        sync_source(session, source_id="s1", kind="feed", name="S", url="http://127.0.0.1/", tags=[])
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        db = Database(sqlite_url)  # own engine, as a separate process would have
        try:
            for i in range(500):
                with db.write() as session:  # read (dedupe lookup) then write: the dangerous pattern
                    store_item(session, ItemRecord(source_id="s1", url=f"http://127.0.0.1/{n}/{i}",
                                                   title="t", text=f"text {n} {i}", fetched_at=datetime.now(UTC)))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            db.dispose()

    def reader() -> None:
        db = Database(sqlite_url)
        try:
            while not stop.is_set():
                with db.read() as session:
                    session.execute(text("SELECT count(*) FROM items")).scalar()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert errors == []
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 2000
