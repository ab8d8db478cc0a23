"""Fixtures for the service tests: the news site with its webhook inbox, and service processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.db import Database
from tests.service.support import (
    RULE_EXECUTED,
    NewsSite,
    ServiceProcess,
    service_settings,
    start_site,
)


@pytest.fixture
def news_site() -> Iterator[NewsSite]:
    site, stop = start_site()
    yield site
    stop()


@pytest.fixture
def service_config(tmp_config: Callable[..., Path], news_site: NewsSite) -> Callable[..., Path]:
    """Factory: a config dir crawling the news site every second, alerts to its webhook."""

    def make(*, rules: str = RULE_EXECUTED, **settings: Any) -> Path:
        return tmp_config(
            settings=service_settings(news_site, **settings),
            sources=[{"id": "news", "kind": "feed", "url": f"{news_site.base_url}/feed.xml"}],
            rules={"test.yaml": rules},
            watchlists={},
        )

    return make


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Factory: start ``tocsin run`` (stopped at teardown if still running)."""
    started: list[ServiceProcess] = []

    def start(config_dir: Path, *extra: str) -> ServiceProcess:
        service = ServiceProcess(config_dir, tmp_path / f"service-{len(started)}.log", *extra)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def service_db() -> Iterator[Callable[[Path], Database]]:
    opened: list[Database] = []

    def open_db(config_dir: Path) -> Database:
        database = Database(f"sqlite:///{config_dir / 'data' / 'tocsin.db'}")
        opened.append(database)
        return database

    yield open_db
    for database in opened:
        database.dispose()
