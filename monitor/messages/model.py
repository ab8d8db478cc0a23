"""Cleaned, display-ready copies of the views: what the templates are allowed to see.

Every scraped string passes through ``text.clean_line``/``clean_block`` here, so a template cannot
forget to neutralise bidi controls; escaping stays with Jinja2's autoescape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.messages.text import clean_block, clean_line, format_value, format_when, safe_href
from monitor.messages.views import AlertView, SourceRef, severity_rank

SEVERITY_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
MAX_SUBJECT_CHARS = 200


@dataclass(frozen=True)
class SourceLine:
    name: str
    title: str
    href: str | None  # None when the URL is not a safe http(s) link
    meta: str  # "fa, 2024-09-21 14:03 UTC", then "; <note>" when the source has one; or ""


@dataclass(frozen=True)
class AlertModel:
    id: int
    severity: str
    severity_label: str
    icon: str
    event_type: str
    subject: str
    title: str
    summary: str
    paragraphs: list[list[str]]  # summary as paragraphs of lines (for HTML)
    entities: list[tuple[str, str]]
    sources: list[SourceLine]
    evidence_href: str | None
    evidence_command: str
    first_seen: str
    last_seen: str
    is_update: bool


@dataclass(frozen=True)
class EventGroup:
    event_type: str
    alerts: list[AlertModel]

    @property
    def count(self) -> int:
        return len(self.alerts)


def _source_line(source: SourceRef) -> SourceLine:
    published = ", ".join(p for p in (clean_line(source.lang), format_when(source.published_at)) if p)
    meta = "; ".join(p for p in (published, clean_line(source.note)) if p)
    return SourceLine(
        name=clean_line(source.name) or "source",
        title=clean_line(source.title),
        href=safe_href(source.url),
        meta=meta,
    )


def _paragraphs(summary: str) -> list[list[str]]:
    return [block.split("\n") for block in summary.split("\n\n") if block]


def alert_model(alert: AlertView) -> AlertModel:
    severity = clean_line(alert.severity).lower() or "info"
    summary = clean_block(alert.summary)
    entities = [
        (clean_line(str(key)), format_value(value)) for key, value in alert.entities.items()
    ]
    return AlertModel(
        id=alert.id,
        severity=severity,
        severity_label=severity.upper(),
        icon=SEVERITY_ICONS.get(severity, "⚪"),
        event_type=clean_line(alert.event_type) or "alert",
        subject=clean_line(alert.subject),
        title=clean_line(alert.title),
        summary=summary,
        paragraphs=_paragraphs(summary),
        entities=[(k, v) for k, v in entities if k and v],
        sources=[_source_line(s) for s in alert.sources],
        evidence_href=safe_href(alert.evidence_url),
        evidence_command=clean_line(alert.evidence_command),
        first_seen=format_when(alert.first_seen),
        last_seen=format_when(alert.last_seen),
        is_update=alert.is_update,
    )


def group_by_event(alerts: list[AlertView]) -> list[EventGroup]:
    """Groups ordered by their most urgent alert, then size, then name; alerts likewise."""
    models = sorted(
        (alert_model(a) for a in alerts), key=lambda m: (severity_rank(m.severity), m.id)
    )
    groups: dict[str, list[AlertModel]] = {}
    for model in models:
        groups.setdefault(model.event_type, []).append(model)
    ordered = sorted(
        groups.items(),
        key=lambda item: (severity_rank(item[1][0].severity), -len(item[1]), item[0]),
    )
    return [EventGroup(event_type, members) for event_type, members in ordered]


def severity_counts(alerts: list[AlertView]) -> list[tuple[str, int]]:
    """[("critical", 2), ("info", 5)]: most urgent first, zero counts left out."""
    counts: dict[str, int] = {}
    for alert in alerts:
        key = clean_line(alert.severity).lower() or "info"
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda item: (severity_rank(item[0]), item[0]))


def one_line_subject(*parts: str, limit: int = MAX_SUBJECT_CHARS) -> str:
    """Join cleaned parts into a header-safe subject, shortened with an ellipsis."""
    subject = clean_line("".join(parts))
    return subject if len(subject) <= limit else subject[: limit - 1].rstrip() + "…"


def alert_subject(model: AlertModel) -> str:
    """``[CRITICAL] transfer: Saeed Masouri — <title>`` (`` (update)`` for updates)."""
    who = f": {model.subject}" if model.subject else ""
    update = " (update)" if model.is_update else ""
    head = f"[{model.severity_label}] {model.event_type}{who}"
    room = MAX_SUBJECT_CHARS - len(head) - len(update) - 3
    title = model.title if len(model.title) <= room else model.title[: max(room - 1, 0)] + "…"
    return one_line_subject(head, f" — {title}" if title else "", update)


def period(start: datetime, end: datetime) -> str:
    return f"{format_when(start)} – {format_when(end)}"
