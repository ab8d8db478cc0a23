"""Crawl tests: a local site on 127.0.0.1 and a config directory + migrated SQLite file per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from config.loader import load_config
from crawler.runner import CrawlOutcome, RecheckOutcome, recheck_due, run_crawl
from storage import migrate
from storage.db import Database
from storage.models import Item
from tests.support.site import SiteServer

SITES = Path(__file__).resolve().parents[1] / "data" / "sites"

# Quick crawls: no AutoThrottle, short timeouts, retries spaced by 50 ms instead of seconds.
FAST_SCRAPY = {
    "TOCSIN_RETRY_BACKOFF_BASE": 0.05,
    "TOCSIN_RETRY_BACKOFF_MAX": 0.2,
    "TOCSIN_EXTRACTION_WORKERS": 0,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
}
SETTINGS = {
    "crawl": {"autothrottle": False, "retries": 2, "download_timeout": "3s", "max_response_size": "2MiB",
              "concurrent_per_domain": 8},
    "schedule": {"crawl_timeout": "60s"},
}


@dataclass
class CrawlEnv:
    """A config directory and database for real crawls through crawler.runner (child processes)."""

    root: Path
    database: Database
    settings: dict[str, Any] = field(default_factory=lambda: dict(SETTINGS))
    scrapy: dict[str, Any] = field(default_factory=lambda: dict(FAST_SCRAPY))

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    def sources(self, *sources: dict[str, Any]) -> None:
        self.config_dir.mkdir(exist_ok=True)
        (self.config_dir / "settings.yaml").write_text(yaml.safe_dump(self.settings), encoding="utf-8")
        (self.config_dir / "sources.yaml").write_text(yaml.safe_dump({"sources": list(sources)},
                                                                     allow_unicode=True), encoding="utf-8")

    def crawl(self, source_id: str, **kwargs: Any) -> CrawlOutcome:
        config = load_config(self.config_dir)
        return run_crawl(
            database=self.database, config=config, source=config.source(source_id),
            timeout=kwargs.pop("timeout", timedelta(seconds=90)), log_file=self.root / "crawl.log",
            scrapy_settings=self.scrapy, **kwargs,
        )

    def recheck(self, **kwargs: Any) -> RecheckOutcome:
        return recheck_due(database=self.database, config=load_config(self.config_dir),
                           timeout=timedelta(seconds=90),
                           log_file=self.root / "crawl.log", scrapy_settings=self.scrapy, **kwargs)

    def log(self) -> str:
        path = self.root / "crawl.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


def items(env: CrawlEnv, source_id: str | None = None) -> list[Item]:
    """Stored items (detached, snapshot and versions loaded), by URL."""
    with env.database.read() as session:
        query = select(Item).options(selectinload(Item.snapshot), selectinload(Item.versions)).order_by(Item.url)
        if source_id is not None:
            query = query.where(Item.source_id == source_id)
        found = list(session.scalars(query))
        session.expunge_all()
        return found


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with SiteServer(root=SITES) as server:
        yield server


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file, copied for each test (migrating costs ~1 s)."""
    path = tmp_path_factory.mktemp("template") / "tocsin.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def env(tmp_path: Path, migrated_template: Path) -> Iterator[CrawlEnv]:
    shutil.copyfile(migrated_template, tmp_path / "tocsin.db")
    database = Database(f"sqlite:///{tmp_path / 'tocsin.db'}")
    yield CrawlEnv(root=tmp_path, database=database)
    database.dispose()
