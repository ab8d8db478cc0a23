"""Shared fixtures: a config directory on a real SQLite file, a migrated database, loopback web servers,
and a fresh PostgreSQL database for the tests marked ``postgres``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.demo.server import SiteServer
from storage import migrate
from storage.db import Database

pytest_plugins = ["tests.support.fake_telegram", "tests.support.smtp"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = (REPO_ROOT / ".." / "shared").resolve()
POSTGRES_ADMIN_URL = os.environ.get("TOCSIN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test keeps its last good configurations (config.last_good) in a fresh directory of its own."""
    monkeypatch.setenv("TOCSIN_STATE_DIR", str(tmp_path_factory.mktemp("state")))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent (e.g. a user's clone)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared fixtures live beside the repository in CI only")
    return path


def write_config(directory: Path, *, settings: dict[str, Any] | None = None,
                 sources: list[dict[str, Any]] | None = None, rules: dict[str, str] | None = None,
                 watchlists: dict[str, str] | None = None) -> Path:
    """Write a config directory; rules/watchlists default to the packaged ones when not given."""
    from config.loader import DEFAULTS_DIR

    directory.mkdir(parents=True, exist_ok=True)
    base = {"data_dir": "data"}
    (directory / "settings.yaml").write_text(yaml.safe_dump({**base, **(settings or {})}), encoding="utf-8")
    (directory / "sources.yaml").write_text(yaml.safe_dump({"sources": sources or []}, allow_unicode=True),
                                            encoding="utf-8")
    for name, given in (("rules", rules), ("watchlists", watchlists)):
        target = directory / name
        target.mkdir(exist_ok=True)
        if given is None:
            for path in sorted((DEFAULTS_DIR / name).glob("*.yaml")) if (DEFAULTS_DIR / name).is_dir() else []:
                (target / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        else:
            for filename, text in given.items():
                (target / filename).write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def tmp_config(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``tmp_config(sources=[...], settings={...})`` -> a config dir using SQLite in tmp_path."""

    def make(**kwargs: Any) -> Path:
        return write_config(tmp_path / "config", **kwargs)

    return make


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tocsin.db'}"


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Database]:
    """A real SQLite file, migrated to head."""
    db = Database(sqlite_url)
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    """The same test on a migrated SQLite file and on a fresh PostgreSQL database."""
    url = sqlite_url if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    db = Database(url)
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def site_server() -> Iterator[Callable[[Path], SiteServer]]:
    """Factory: serve a directory on 127.0.0.1 for the duration of the test."""
    servers: list[SiteServer] = []

    def start(root: Path) -> SiteServer:
        server = SiteServer(root).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards.

    A test that needs PostgreSQL and cannot reach it fails: it does not pass silently.
    """
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tocsin_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (start it; see .ci/run): {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
