"""One active service per database: a second one is refused (naming the first), or stands by and takes over."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config.errors import ServiceError
from monitor.service import instance_lock
from tests.service.support import REPO_ROOT, wait_until


def test_a_second_instance_on_the_same_sqlite_database_is_refused_with_the_holder_named(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    first = instance_lock.acquire(url, standby=False)
    assert first is not None
    try:
        with pytest.raises(ServiceError, match="already active") as refused:
            instance_lock.acquire(url, standby=False)
        assert f"pid {os.getpid()}" in str(refused.value)
        assert "--standby" in str(refused.value)
    finally:
        first.release()
    again = instance_lock.acquire(url, standby=False)
    assert again is not None
    again.release()


def test_different_databases_do_not_block_each_other(tmp_path: Path) -> None:
    one = instance_lock.acquire(f"sqlite:///{tmp_path / 'a.db'}", standby=False)
    two = instance_lock.acquire(f"sqlite:///{tmp_path / 'b.db'}", standby=False)
    assert one is not None and two is not None
    one.release()
    two.release()


def test_the_lock_of_a_killed_instance_is_free_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from monitor.service import instance_lock; "
            f"lock = instance_lock.acquire({url!r}, standby=False); print('locked', flush=True); time.sleep(60)",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(ServiceError):
            instance_lock.acquire(url, standby=False)
    finally:
        holder.kill()
        holder.wait()
    lock = instance_lock.acquire(url, standby=False)  # no stale lock file to clean up by hand
    assert lock is not None
    lock.release()


def test_a_standby_instance_takes_over_when_the_active_one_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    active = instance_lock.acquire(url, standby=False)
    assert active is not None
    waiting_on: list[str] = []
    taken: list[instance_lock.InstanceLock | None] = []
    standby = threading.Thread(
        target=lambda: taken.append(
            instance_lock.acquire(
                url, standby=True, poll=timedelta(milliseconds=20), on_wait=waiting_on.append
            )
        )
    )
    standby.start()
    wait_until(lambda: waiting_on, what="the standby to report whom it waits for")
    assert f"pid {os.getpid()}" in waiting_on[0]
    assert not taken
    active.release()
    standby.join(10)
    assert taken and taken[0] is not None and taken[0].still_held()
    taken[0].release()


def test_a_standby_asked_to_stop_gives_up_waiting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    active = instance_lock.acquire(url, standby=False)
    stop = threading.Event()
    stop.set()
    assert (
        instance_lock.acquire(url, standby=True, poll=timedelta(milliseconds=10), stop=stop) is None
    )
    assert active is not None
    active.release()


@pytest.mark.postgres
def test_postgres_uses_an_advisory_lock_that_dies_with_its_session(postgres_url: str) -> None:
    first = instance_lock.acquire(postgres_url, standby=False)
    assert isinstance(first, instance_lock.AdvisoryInstanceLock)
    try:
        with pytest.raises(ServiceError, match="already active") as refused:
            instance_lock.acquire(postgres_url, standby=False)
        assert f"tocsin run pid={os.getpid()}" in str(refused.value)
        assert first.still_held()
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with (
            admin.connect() as connection
        ):  # the server drops the session (failover, restart, idle kill)
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name LIKE 'tocsin run pid=%' AND datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
        admin.dispose()
        assert not first.still_held()  # the service notices and stops sending
        second = instance_lock.acquire(postgres_url, standby=False)
        assert second is not None
        second.release()
    finally:
        first.release()
