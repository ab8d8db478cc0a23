"""The escalation ladder: where each watched person stands, and every step up, with the case timeline.

A person's *reports* are the matches naming them (canonical watchlist names, so English and Persian outlets
add to one case). The ladder's rungs are listed lowest first; a rung holds at a moment when one of its
conditions does, and a condition holds when each of its requirements has a report of one of its event types
within its ``within`` before that moment. A person stands on the highest rung that holds. Replaying the
reports in publication order, a report that lifts the person above where they stood just before it is a
*step up*; each step up on an alerting rung raises one alert (at most one per person and rung per
``realert_after``). Because every moment is judged only on the reports published up to it, replaying
history gives the same steps as following the stream live.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from config.early_warning import LadderConfig, LadderLevel, Requirement
from monitor.trends.alerting import AlertDraft
from monitor.trends.calendar import Calendar
from monitor.trends.events import Event, Report, cluster, fold_name

NONE_LEVEL = "none"


@dataclass(frozen=True)
class Standing:
    """The rung a person stands on at one moment, and the reports that put them there."""

    rank: int  # 0 = none, 1 = the lowest rung
    level: str
    severity: str | None
    evidence: tuple[tuple[Requirement, Report], ...] = ()


NOBODY = Standing(0, NONE_LEVEL, None)


@dataclass(frozen=True)
class Step:
    person: str
    key: str
    at: datetime
    before: Standing
    after: Standing
    trigger: Report
    rung: LadderLevel


def _satisfied(requirement: Requirement, history: Sequence[Report], at: datetime) -> Report | None:
    for report in reversed(history):
        if report.event_type in requirement.events and report.at <= at and at - report.at <= requirement.within:
            return report
    return None


def standing(ladder: LadderConfig, history: Sequence[Report], at: datetime) -> Standing:
    """The highest rung holding at ``at`` given ``history`` (reports at or before ``at``)."""
    for rank in range(len(ladder.levels), 0, -1):
        rung = ladder.levels[rank - 1]
        for condition in rung.any_of:
            evidence = [(req, _satisfied(req, history, at)) for req in condition.all_of]
            if all(report is not None for _, report in evidence):
                return Standing(rank, rung.level, rung.severity,
                                tuple((req, report) for req, report in evidence if report is not None))
    return NOBODY


def person_reports(reports: Iterable[Report], *, ignore: Iterable[str] = ()
                   ) -> dict[str, tuple[str, list[Report]]]:
    """Folded person key -> (name as first written, their reports oldest first); event types in ``ignore``
    (a watchlist mention) are not case events."""
    ignored = set(ignore)
    out: dict[str, tuple[str, list[Report]]] = {}
    for report in reports:
        if report.event_type in ignored:
            continue
        for person in report.persons:
            name, items = out.setdefault(fold_name(person), (person, []))
            items.append(report)
    return out


def steps_up(ladder: LadderConfig, person: str, key: str, reports: Sequence[Report]) -> list[Step]:
    """Every report that lifted ``person`` to a higher rung than they stood on just before it."""
    relevant = [r for r in reports if r.event_type in ladder.event_types]
    steps: list[Step] = []
    for index, report in enumerate(relevant):
        before = standing(ladder, relevant[:index], report.at)
        after = standing(ladder, relevant[: index + 1], report.at)
        if after.rank > before.rank:
            steps.append(Step(person, key, report.at, before, after, report, ladder.levels[after.rank - 1]))
    return steps


def timeline(reports: Sequence[Report], *, window: timedelta) -> list[Event]:
    """The person's case events: reports of one event type from several outlets within the dedup window
    merged (they share the person, so they are one event), but two reports from one outlet are two events
    (an attempted transfer, then the exile two days later). Counts do not matter here."""
    events, _ = cluster(reports, window=window, max_count=10**9, one_per_source=True)
    return sorted(events, key=lambda e: (e.first_at, e.event_type))


def event_entry(event: Event, *, upto: datetime | None = None) -> dict[str, Any]:
    """A case event for an alert; with ``upto``, only the reports published by then (so the alert says
    the same whether it was raised live or in a backfill)."""
    reports = [r for r in event.reports if upto is None or r.at <= upto]
    return {"at": event.first_at.isoformat(), "event_type": event.event_type,
            "places": list(dict.fromkeys(p for r in reports for p in (*r.prisons, *r.places))),
            "sources": [r.source_ref() for r in reports]}


def escalation_key(key: str, level: str, day: str) -> str:
    return f"escalation|{key.replace('|', '/')[:200]}|{level}|{day}"


def parse_escalation_key(dedup_key: str) -> tuple[str, str, str] | None:
    parts = dedup_key.split("|")
    if len(parts) < 4 or parts[0] != "escalation":
        return None
    return "|".join(parts[1:-2]), parts[-2], parts[-1]


def _describe(requirement: Requirement, report: Report) -> str:
    return f"{report.event_type.replace('_', ' ')} on {report.at:%Y-%m-%d} ({report.source_id})"


def draft_escalation(step: Step, events: Sequence[Event], ladder: LadderConfig,
                     calendar: Calendar) -> AlertDraft:
    """The alert for a step up, carrying the timeline up to the step."""
    upto = [e for e in events if e.first_at <= step.at][-ladder.timeline_events:]
    evidence = step.after.evidence
    reasons = "; ".join(dict.fromkeys(_describe(req, rep) for req, rep in evidence))
    level = step.after.level.replace("_", " ")
    title = f"{step.person}: {level} risk (was {step.before.level.replace('_', ' ')})"
    summary = f"{step.person} moved up to {level} on {calendar.day(step.at)}: {reasons}."
    reports = [rep for _, rep in evidence] + [step.trigger]
    details: dict[str, Any] = {
        "person": step.person, "level": step.after.level, "rank": step.after.rank,
        "previous_level": step.before.level, "step_at": step.at.isoformat(),
        "trigger": step.trigger.source_ref() | {"event_type": step.trigger.event_type},
        "evidence": [{"events": req.events, "within_days": req.within.days,
                      "report": rep.source_ref() | {"event_type": rep.event_type}} for req, rep in evidence],
        "timeline": [event_entry(e, upto=step.at) for e in upto],
    }
    return AlertDraft(
        kind="escalation", dedup_key=escalation_key(step.key, step.after.level, calendar.day(step.at).isoformat()),
        event_type="escalation", severity=step.after.severity or "info", subject=step.person, title=title,
        summary=summary, details=details, moment=step.at,
        tags={t for r in reports for t in r.source_tags}, langs={r.lang for r in reports},
    )


def escalation_drafts(ladder: LadderConfig, steps: Iterable[Step], events: dict[str, list[Event]], *,
                      since: datetime | None, calendar: Calendar,
                      fired: dict[tuple[str, str], list[datetime]]) -> list[AlertDraft]:
    """Alerts for steps at or after ``since`` onto alerting rungs, once per person, rung and realert span."""
    drafts = []
    for step in sorted(steps, key=lambda s: (s.at, s.key)):
        if not step.rung.alert or (since is not None and step.at < since):
            continue
        memory = fired.setdefault((step.key, step.after.level), [])
        if any(abs(step.at - earlier) < ladder.realert_after for earlier in memory):
            continue
        memory.append(step.at)
        drafts.append(draft_escalation(step, events.get(step.key, []), ladder, calendar))
    return drafts
