"""Plain records handed to storage by the crawler: what was fetched, before it becomes rows."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# Raw evidence is gzip-compressed at this level: on real article pages (~150 KB) level 6 costs about
# 2 ms of CPU a page against 1.3 ms for level 4, for 4% less space (bench/bench_store.py).
GZIP_LEVEL = 4


def content_sha256(title: str, text: str) -> str:
    """Hash of the visible content, blind to whitespace changes, so re-rendered pages are not 'edits'.

    ``str.split()`` and the regex ``\\s+`` agree on what whitespace is (both use str.isspace), so this is
    the hash ``re.sub(r"\\s+", " ", ...).strip()`` gave, at a third of the cost.
    """
    canonical = " ".join(f"{title}\n{text}".split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class BodyEvidence:
    """A response body as stored: gzip-compressed, with the SHA-256 of the raw bytes.

    Computed once per response (in the extraction worker when it has the body anyway), then shared by
    every record of that response.
    """

    sha256: str
    body_gzip: bytes
    size: int

    @classmethod
    def of(cls, body: bytes) -> BodyEvidence:
        return cls(hashlib.sha256(body).hexdigest(), gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),
                   len(body))


@dataclass(frozen=True)
class SnapshotRecord:
    """A raw HTTP response kept as evidence; ``evidence`` is its compressed body when computed already."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    evidence: BodyEvidence | None = None

    def body_evidence(self) -> BodyEvidence:
        return self.evidence if self.evidence is not None else BodyEvidence.of(self.body)


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
    # Kind-specific facts merged into ``Item.details`` (a Telegram post's links, how a page was decoded).
    details: dict[str, Any] = field(default_factory=dict)

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
