"""The runtime context every command shares: validated config, migrated database, compiled rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from config import last_good
from config.loader import TocsinConfig, load_config, load_config_for_reading
from monitor.rules import RuleEngine
from storage import migrate
from storage.db import Database


@dataclass
class App:
    config: TocsinConfig
    database: Database
    _engine: RuleEngine | None = field(default=None, repr=False)

    @classmethod
    def open(cls, config_option: Path | str | None = None, *, upgrade: bool = True,
             read_only: bool = False) -> App:
        """Load the config and open the database, upgrading its schema (the app upgrades on start).

        A clean load is kept as the last good configuration (config.last_good); ``read_only`` commands
        fall back to it when a file is broken (``config.fallback`` says so).
        """
        config = load_config_for_reading(config_option) if read_only else load_config(config_option)
        if config.fallback is None and not config.is_packaged_default:
            last_good.save(config.directory)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(config.database_url)
        if upgrade:
            migrate.upgrade(database)
        return cls(config=config, database=database)

    @property
    def rules(self) -> RuleEngine:
        if self._engine is None:
            self._engine = RuleEngine.load(self.config.rule_files, self.config.watchlist_files)
        return self._engine

    @rules.setter
    def rules(self, engine: RuleEngine) -> None:
        self._engine = engine

    @cached_property
    def log_dir(self) -> Path:
        path = self.config.data_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        self.database.dispose()
