"""Every exception class of Tocsin, in one tree. Each says what went wrong where, and what to do next.

    Exception
    ├── TocsinError                 a problem a user can act on: the CLI prints ``str()`` as one line, exit 2
    │   ├── ConfigError             a user file cannot be used (file:line:col, key path)
    │   ├── DatabaseError           the database cannot be opened or migrated (also a RuntimeError)
    │   ├── ServiceError            the service cannot start (e.g. another instance holds the lock)
    │   ├── SourceError             one source failed (carries ``source=``); never stops the others
    │   ├── DeliveryError           a channel could not be reached (carries ``channel=``)
    │   ├── AlertError              an alert action that cannot be done: unknown id, wrong state (a ValueError)
    │   ├── InputError              a bad line in the ``tocsin match`` input
    │   │   └── CorpusError         a bad labelled corpus for ``tocsin rules eval`` (file:line)
    │   ├── UnknownSeries           a trend series or scope that does not exist (a LookupError)
    │   └── UserError               a console user or token action that cannot be done: unknown name, bad
    │                               role, weak password (a ValueError)
    ├── QueryError                  a rule query that cannot be compiled, at ``offset``; the rules loader turns
    │   └── QuerySyntaxError        it into a ConfigError with file:line:col (this one: it does not parse)
    ├── MatchingError               item ``item_id`` could not be matched (a RuntimeError; the service sets the
    │                               item aside, the CLI shows the traceback: it is a bug or a broken database)
    └── TelegramMarkupError         a template produced markup Telegram rejects (a ValueError; a bug of ours:
                                    the dispatcher fails that one delivery)

Why here: config/ is the floor of the house. It imports nothing of crawler/, storage/ or monitor/, and all
of them import it, so one module here can hold the whole tree and every layer can raise from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def format_keypath(keypath: Sequence[str | int]) -> str:
    """Render ``("rules", 3, "query")`` as ``rules[3].query``."""
    out = ""
    for part in keypath:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class TocsinError(Exception):
    """Base of the errors a user can act on; the CLI prints them as one line, never a traceback."""


class ConfigError(TocsinError):
    """A user file that cannot be used. ``str()`` is the one-line message to print.

    Every error names the file, the line and column, the key path inside the file and what was expected, e.g.::

        rules/iran.yaml:12:12: rules[3].severity: expected one of 'info', 'warning', 'critical', got 'high'
    """

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        keypath: Sequence[str | int] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = Path(file) if file is not None else None
        self.line = line
        self.column = column
        self.keypath = tuple(keypath)

    @property
    def location(self) -> str:
        parts = [str(self.file) if self.file else "<config>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = self.location
        key = format_keypath(self.keypath)
        return f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"


class DatabaseError(TocsinError, RuntimeError):
    """The database cannot be opened or is not in a usable state."""


class ServiceError(TocsinError):
    """The service cannot start or continue."""


class SourceError(TocsinError):
    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(f"source {source}: {message}")
        self.source = source


class DeliveryError(TocsinError):
    def __init__(self, message: str, *, channel: str) -> None:
        super().__init__(f"channel {channel}: {message}")
        self.channel = channel


class AlertError(TocsinError, ValueError):
    """An alert action that cannot be done (unknown id, wrong state); the message says why."""


class InputError(TocsinError):
    """A bad line in the ``tocsin match`` input."""


class CorpusError(InputError):
    """A labelled corpus that cannot be read (``tocsin rules eval``, ``tocsin corpus``): file and line."""


class UnknownSeries(TocsinError, LookupError):
    """The series id or scope asked for does not exist (the message lists what does)."""


class UserError(TocsinError, ValueError):
    """A console user or token action that cannot be done (``tocsin users``, the users page)."""


class QueryError(Exception):
    """A rule query that cannot be compiled; ``offset`` is the index of the offending character."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class QuerySyntaxError(QueryError):
    """A query that does not parse; ``offset`` is the index of the offending character."""


class MatchingError(RuntimeError):
    """Item ``item_id`` could not be matched (the items before it in its batch were)."""

    def __init__(self, item_id: int, cause: Exception) -> None:
        super().__init__(f"matching item {item_id} failed: {cause}")
        self.item_id = item_id


class TelegramMarkupError(ValueError):
    """The markup (from a template, not scraped text) is not valid Telegram HTML."""


USER_ERRORS: tuple[type[Exception], ...] = (TocsinError,)
"""What the CLI reports as one line a user can act on (``monitor.cli.main``)."""
