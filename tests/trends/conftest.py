"""Fixtures for the early-warning tests: a migrated SQLite file, a config using it, a stream writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.loader import TocsinConfig, load_config
from storage.db import Database
from storage.models import Alert
from tests.trends.streams import StreamWriter

CHANNELS = {
    "ops": {"url": "json://127.0.0.1:9/ops", "min_severity": "info"},
    "urgent": {"url": "json://127.0.0.1:9/urgent", "min_severity": "critical"},
}


@pytest.fixture
def make_config(tmp_path: Path, sqlite_url: str) -> Callable[..., TocsinConfig]:
    """``make_config(early_warning={...})``: a config directory on the test database, with two channels."""

    def make(early_warning: dict[str, Any] | None = None) -> TocsinConfig:
        directory = tmp_path / "config"
        directory.mkdir(exist_ok=True)
        settings = {"data_dir": str(tmp_path / "data"), "database_url": sqlite_url, "channels": CHANNELS}
        (directory / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
        if early_warning is not None:
            (directory / "early_warning.yaml").write_text(yaml.safe_dump(early_warning, allow_unicode=True),
                                                          encoding="utf-8")
        return load_config(directory)

    return make


@pytest.fixture
def writer(database: Database) -> StreamWriter:
    return StreamWriter(database)


def alert_facts(database: Database, kind: str | None = None) -> list[dict[str, Any]]:
    """Every stored alert of ``kind`` as comparable facts (no ids, no delivery state), by key."""
    with database.read() as session:
        query = session.query(Alert)
        if kind is not None:
            query = query.filter(Alert.kind == kind)
        return sorted(({"key": a.dedup_key, "kind": a.kind, "severity": a.severity, "subject": a.subject,
                        "title": a.title, "summary": a.summary, "details": a.details,
                        "at": a.first_seen_at} for a in query), key=lambda fact: fact["key"])
