"""One active ``tocsin run`` per database, so no alert is ever sent twice by two schedulers.

APScheduler cannot share work between processes (its FAQ answers "You can't"; PITFALLS.md section 3), so
the service takes a lock before it schedules anything:

- SQLite: an OS file lock (``flock``) on ``<database>.lock`` next to the database file. The kernel drops
  it when the process dies, even on SIGKILL, so a crash never leaves a stale lock behind.
- PostgreSQL: a session-level advisory lock held by one dedicated connection. The server drops it when
  that connection ends; ``still_held()`` notices a lost connection so the service can stop sending.

A second instance either refuses to start (the default) or, with ``--standby``, waits for the lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config.errors import ServiceError
from storage.models import utcnow

log = logging.getLogger(__name__)
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"tocsin run").digest()[:8], "big", signed=True)


def owner_description() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": utcnow().isoformat(timespec="seconds"),
    }


class InstanceLock:
    """Base: a lock that is either held by this process or not."""

    description = "no lock"

    def try_acquire(self) -> bool:
        return True

    def holder(self) -> str:
        """Who holds the lock, as far as can be told (for the refusal message)."""
        return "unknown"

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileInstanceLock(InstanceLock):
    """``flock`` on ``<db>.lock``; who holds it is written to ``<db>.lock.json`` once acquired."""

    def __init__(self, database_file: Path) -> None:
        self.path = database_file.with_name(database_file.name + ".lock")
        self.owner_path = database_file.with_name(database_file.name + ".lock.json")
        self.description = f"file lock {self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path), thread_local=False)

    def try_acquire(self) -> bool:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        self.owner_path.write_text(json.dumps(owner_description()), encoding="utf-8")
        return True

    def holder(self) -> str:
        try:
            owner = json.loads(self.owner_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "unknown process"
        return f"pid {owner.get('pid')} on {owner.get('host')}, since {owner.get('since')}"

    def still_held(self) -> bool:
        return bool(self._lock.is_locked)

    def release(self) -> None:
        if self._lock.is_locked:
            self.owner_path.unlink(missing_ok=True)
            self._lock.release(force=True)


class AdvisoryInstanceLock(InstanceLock):
    """``pg_try_advisory_lock`` on a dedicated autocommit connection, named after this process."""

    def __init__(self, url: str) -> None:
        owner = owner_description()
        name = f"tocsin run pid={owner['pid']} host={owner['host']}"[:63]
        self._engine: Engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"application_name": name},
        )
        self._connection: Connection | None = None
        self.description = f"PostgreSQL advisory lock {ADVISORY_KEY}"

    def try_acquire(self) -> bool:
        connection = self._engine.connect()
        got = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
        )
        if got:
            self._connection = connection
        else:
            connection.close()
        return got

    def holder(self) -> str:
        query = text(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"
        )
        unsigned = ADVISORY_KEY & 0xFFFFFFFFFFFFFFFF
        try:
            with self._engine.connect() as connection:
                row = connection.execute(
                    query, {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}
                ).first()
        except Exception as exc:  # noqa: BLE001 - only used to word an error message
            return f"unknown ({exc.__class__.__name__})"
        if row is None:
            return "unknown session"
        since = f"{row.backend_start:%Y-%m-%d %H:%M}"
        return f"{row.application_name or 'a session'} (server pid {row.pid}, since {since})"

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means the lock's session is gone
            log.critical("lost the connection that holds the instance lock")
            self._connection = None
            return False
        return True

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                self._connection.close()
            except Exception:  # noqa: BLE001 - the server drops the lock with the session anyway
                log.warning("could not release the advisory lock cleanly", exc_info=True)
            self._connection = None
        self._engine.dispose()


def lock_for(database_url: str) -> InstanceLock:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return InstanceLock()  # a private in-memory database cannot be shared anyway
        return FileInstanceLock(Path(database).expanduser().resolve())
    if backend == "postgresql":
        return AdvisoryInstanceLock(database_url)
    raise ServiceError(f"no instance lock for {backend} databases; use SQLite or PostgreSQL")


def acquire(
    database_url: str,
    *,
    standby: bool,
    poll: timedelta = timedelta(seconds=5),
    stop: threading.Event | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> InstanceLock | None:
    """Take the lock, or raise :class:`ServiceError` naming the holder (or wait, with ``standby``).

    Returns None when ``stop`` was set while standing by.
    """
    lock = lock_for(database_url)
    if lock.try_acquire():
        return lock
    holder = lock.holder()
    if not standby:
        lock.release()
        raise ServiceError(
            f"another `tocsin run` is already active for this database ({holder}; {lock.description}). "
            "Stop it first, or start this one with --standby to take over when it stops."
        )
    if on_wait is not None:
        on_wait(holder)
    stop = stop or threading.Event()
    while not stop.wait(poll.total_seconds()):
        if lock.try_acquire():
            return lock
    lock.release()
    return None
