"""What a message shows: frozen views built by the alert layer, read by the renderers.

The views hold scraped text as scraped; renderers clean and escape it (see ``text.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SEVERITIES = ("critical", "warning", "info")  # most urgent first


@dataclass(frozen=True)
class SourceRef:
    """One page or post an alert is based on."""

    name: str  # source name, e.g. "HRANA" or "t.me/1500tasvir"
    url: str
    title: str
    lang: str | None = None
    published_at: datetime | None = None
    note: str | None = None  # what became of it, e.g. "removed 2024-09-21 14:03 UTC: HTTP 404 Not Found"


@dataclass(frozen=True)
class AlertView:
    """One alert as a recipient sees it."""

    id: int
    severity: str  # info | warning | critical
    event_type: str  # e.g. "transfer", "death_sentence"
    subject: str | None  # main entity, e.g. "Saeed Masouri"
    title: str
    summary: str
    entities: dict[str, object]  # e.g. {"prison": "Ghezel Hesar", "charges": ["baghi"]}
    sources: list[SourceRef]
    evidence_url: str | None
    first_seen: datetime
    last_seen: datetime
    is_update: bool = False  # a later message about an alert already sent
    evidence_command: str | None = None  # how to export the kept pages, e.g. "tocsin evidence export --alert 12"


@dataclass(frozen=True)
class DigestView:
    """Alerts of a period, sent together (grouped by event type)."""

    period_start: datetime
    period_end: datetime
    alerts: list[AlertView]


@dataclass(frozen=True)
class OverflowView:
    """Alerts held back by a channel's rate limit, folded into one summary message."""

    channel: str
    suppressed: list[AlertView]


@dataclass(frozen=True)
class EmailParts:
    """A rendered email: one-line subject, plain-text part, HTML part."""

    subject: str
    text: str
    html: str


def severity_rank(severity: str) -> int:
    """0 for the most urgent; unknown severities rank after info."""
    try:
        return SEVERITIES.index(severity.lower())
    except ValueError:
        return len(SEVERITIES)
