"""Configuration errors, reported as one line a user can act on.

Every error names the file, the line and column, the key path inside the file and what was expected, e.g.::

    rules/iran.yaml:12:12: rules[3].severity: expected one of 'info', 'warning', 'critical', got 'high'
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


class ConfigError(Exception):
    """A user file that cannot be used. ``str()`` is the one-line message to print."""

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
