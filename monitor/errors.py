"""Tocsin's errors. Each says what went wrong where, and what to do next.

    TocsinError
    ├── config.errors.ConfigError      a user file cannot be used (file:line:col, key path)
    ├── storage.db.DatabaseError       the database cannot be opened or migrated
    ├── SourceError                    one source failed (carries ``source=``); never stops the others
    ├── DeliveryError                  a channel could not be reached (carries ``channel=``)
    └── ServiceError                   the service cannot start (e.g. another instance holds the lock)

ConfigError and DatabaseError live with their layers (config/ and storage/ import nothing from monitor/);
the CLI catches all of them and prints one line, never a traceback.
"""

from __future__ import annotations

from config.errors import ConfigError
from storage.db import DatabaseError


class TocsinError(Exception):
    """Base of Tocsin's own runtime errors."""


class SourceError(TocsinError):
    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(f"source {source}: {message}")
        self.source = source


class DeliveryError(TocsinError):
    def __init__(self, message: str, *, channel: str) -> None:
        super().__init__(f"channel {channel}: {message}")
        self.channel = channel


class ServiceError(TocsinError):
    """The service cannot start or continue."""


USER_ERRORS: tuple[type[Exception], ...] = (ConfigError, DatabaseError, TocsinError)
