"""Plain records handed to storage by the crawler: what was fetched, before it becomes rows."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

_SPACES = re.compile(r"\s+")


def content_sha256(title: str, text: str) -> str:
    """Hash of the visible content, blind to whitespace changes, so re-rendered pages are not 'edits'."""
    canonical = _SPACES.sub(" ", f"{title}\n{text}").strip()
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SnapshotRecord:
    """A raw HTTP response kept as evidence."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime


@dataclass(frozen=True)
class ItemRecord:
    source_id: str
    url: str
    title: str
    text: str
    fetched_at: datetime
    lang: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    external_id: str | None = None
    snapshot: SnapshotRecord | None = None
    flags: tuple[str, ...] = ()
    fingerprint: int | None = None

    @property
    def content_sha256(self) -> str:
        return content_sha256(self.title, self.text)


class StoreOutcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class StoreResult:
    outcome: StoreOutcome
    item_id: int | None
    version: int = 1
    details: dict[str, str] = field(default_factory=dict)
