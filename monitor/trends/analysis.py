"""One entry point for the early-warning analysis: surges, escalation ladders, case files, proposals.

``analyze(session, config, now=...)`` is deterministic: every verdict about a moment uses only the reports
published up to that moment, and every alert has a stable key plus a cooldown memory read from the stored
alerts. Running it once over a year of stored history therefore raises the same alerts as running it after
every crawl of that year. It is idempotent: running it twice in a row raises nothing the second time.

Each run judges the closed days (weeks) since the last run, plus ``analysis.recheck`` days again for reports
that arrive late, and ladder steps from the same margin on; the watermarks live in ``trend_state``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from config.early_warning import EarlyWarningConfig
from config.loader import TocsinConfig
from monitor.trends import ladder as ladder_mod
from monitor.trends.alerting import AlertDraft, RaisedAlert, record_alert
from monitor.trends.calendar import Calendar
from monitor.trends.events import Event, Report, cluster, fold_location, reports_from_rows
from monitor.trends.proposals import propose
from monitor.trends.rhetoric import rhetoric_spec
from monitor.trends.surge import SeriesSpec, build_series, parse_surge_key, surge_drafts
from storage.models import CaseEvent, CaseFile
from storage.trends_repo import (
    alerts_with_key_prefix,
    case_files,
    first_report_at,
    get_state,
    item_texts,
    match_rows,
    replace_case_events,
    set_state,
    upsert_case_file,
    upsert_proposal,
)

LADDER_STATE = "ladder"


def early_warning_settings(config: TocsinConfig) -> EarlyWarningConfig:
    """The early-warning config loaded with the rest of the configuration."""
    return config.early_warning


def series_specs(settings: EarlyWarningConfig) -> list[SeriesSpec]:
    specs = [SeriesSpec.from_config(series, settings.surge) for series in settings.series]
    rhetoric = rhetoric_spec(settings.rhetoric)
    return specs + ([rhetoric] if rhetoric else [])


def provinces_by_name(settings: EarlyWarningConfig) -> dict[str, str]:
    """Folded place, prison or province name -> province (a province named as a place is itself)."""
    named = {fold_location(province): province for province in settings.provinces}
    return named | {fold_location(name): province for name, province in settings.province_of().items()}


def _local_midnight(calendar: Calendar, day_index: int, unit: str) -> datetime:
    start = calendar.bin_start(day_index, unit)
    return datetime.combine(start, time(0), tzinfo=calendar.zone).astimezone(UTC)


def surge_ranges(session: Session, settings: EarlyWarningConfig, specs: Iterable[SeriesSpec], calendar: Calendar,
                 *, start: datetime, now: datetime) -> dict[str, tuple[int, int, int]]:
    """Series id -> (first bin to judge, last closed bin, first bin of the history)."""
    out = {}
    for spec in specs:
        history_first = calendar.bin_of(start, spec.bin)
        last = calendar.last_closed_bin(now, spec.bin)
        first = history_first + spec.window_bins + spec.min_history_bins - 1
        state = get_state(session, f"surge:{spec.id}")
        if state and state.get("bin") == spec.bin and isinstance(state.get("through"), int):
            recheck = math.ceil(settings.analysis.recheck / spec.bin_length)
            first = max(first, min(state["through"] + 1, last - recheck + 1))
        out[spec.id] = (first, last, history_first)
    return out


def _fired_surges(session: Session, spec: SeriesSpec) -> dict[str, list[datetime]]:
    fired: dict[str, list[datetime]] = {}
    for key, moment, _ in alerts_with_key_prefix(session, f"surge|{spec.id}|"):
        parsed = parse_surge_key(key)
        if parsed is not None:
            fired.setdefault(parsed[1], []).append(moment)
    return fired


def _fired_escalations(session: Session) -> dict[tuple[str, str], list[datetime]]:
    fired: dict[tuple[str, str], list[datetime]] = {}
    for key, moment, _ in alerts_with_key_prefix(session, "escalation|"):
        parsed = ladder_mod.parse_escalation_key(key)
        if parsed is not None:
            fired.setdefault((parsed[0], parsed[1]), []).append(moment)
    return fired


def _case_event_row(person: str, event: Event) -> CaseEvent:
    severity = max((r.severity for r in event.reports), key=lambda s: {"info": 0, "warning": 1}.get(s, 2))
    details = {"places": [*event.prisons, *event.places], "count": event.count,
               **{k: v for r in event.reports for k, v in r.entities.items()}}
    return CaseEvent(person=person, event_type=event.event_type, severity=severity, occurred_at=event.first_at,
                     last_reported_at=event.last_at, item_ids=sorted({r.item_id for r in event.reports}),
                     sources=[r.source_ref() for r in event.reports], details=details)


def _ladder(session: Session, settings: EarlyWarningConfig, reports: list[Report], calendar: Calendar, *,
            since: datetime | None, horizon: datetime | None, now: datetime) -> list[AlertDraft]:
    """Case files for everyone named, and the escalation alerts for their steps up since ``since``."""
    ladder = settings.ladder
    people = ladder_mod.person_reports(reports, ignore=settings.cases.ignore_events)
    timelines = {key: ladder_mod.timeline(items, window=settings.dedup.window)
                 for key, (_, items) in people.items()}
    drafts: list[AlertDraft] = []
    fired = _fired_escalations(session) if ladder else {}
    for key, (person, items) in sorted(people.items()):
        events = timelines[key]
        replace_case_events(session, person, [_case_event_row(person, e) for e in events], since=horizon)
        values: dict[str, object] = {"event_count": len(events), "last_event_at": items[-1].at}
        existing = session.get(CaseFile, person)
        if horizon is None or existing is None or existing.first_event_at is None:
            values["first_event_at"] = items[0].at
        if ladder is not None:
            steps = ladder_mod.steps_up(ladder, person, key, items)
            current = ladder_mod.standing(ladder, [r for r in items if r.event_type in ladder.event_types], now)
            since_step = max((s.at for s in steps if s.after.rank == current.rank), default=None)
            peak = max((s.after for s in steps), key=lambda s: s.rank, default=current)
            values |= {"risk_level": current.level, "risk_rank": current.rank, "severity": current.severity,
                       "level_since": since_step, "peak_level": peak.level}
            drafts += ladder_mod.escalation_drafts(ladder, steps, {key: events}, since=since, calendar=calendar,
                                                   fired=fired)
        upsert_case_file(session, person, **values)
    session.flush()
    return drafts


def _proposals(session: Session, settings: EarlyWarningConfig, reports: list[Report], *, now: datetime) -> None:
    config = settings.proposals
    if not config.enabled:
        return
    wanted = [r for r in reports if r.event_type in config.events and timedelta(0) <= now - r.at <= config.within]
    if not wanted:
        return
    known = {p for r in reports for p in r.persons} | {c.person for c in case_files(session)}
    for proposal in propose(config, wanted, item_texts(session, (r.item_id for r in wanted)), known, now=now):
        upsert_proposal(session, proposal.key, name=proposal.name, event_types=proposal.event_types,
                        item_ids=proposal.item_ids, source_ids=proposal.source_ids,
                        mentions=len(proposal.item_ids), first_seen_at=proposal.first_seen_at,
                        last_seen_at=proposal.last_seen_at)


def analyze(session: Session, config: TocsinConfig, *, now: datetime,
            settings: EarlyWarningConfig | None = None) -> list[RaisedAlert]:
    """Run the whole early-warning analysis as of ``now`` in the caller's transaction; returns new alerts."""
    settings = settings or early_warning_settings(config)
    if not settings.enabled:
        return []
    calendar = Calendar(settings.analysis.timezone)
    start = first_report_at(session, until=now)
    if start is None:
        return []
    specs = series_specs(settings)
    ranges = surge_ranges(session, settings, specs, calendar, start=start, now=now)
    margin = 3 * settings.dedup.window  # so the clustering before a window is the same as in a full replay
    horizons: list[datetime | None] = [
        _local_midnight(calendar, first - spec.window_bins - spec.baseline_bins, spec.bin) - margin
        for spec in specs for first, last, _ in [ranges[spec.id]] if first <= last]
    ladder_state = get_state(session, LADDER_STATE)
    ladder_since: datetime | None = None
    if ladder_state and ladder_state.get("through"):
        ladder_since = min(datetime.fromisoformat(ladder_state["through"]), now) - settings.analysis.recheck
        lookback = settings.ladder.lookback if settings.ladder else timedelta(0)
        horizons.append(ladder_since - max(lookback, settings.proposals.within) - margin)
    else:
        horizons.append(None)  # first run: the whole history
    known = [h for h in horizons if h is not None]
    horizon = None if None in horizons or not known else min(known)

    reports = reports_from_rows(match_rows(session, until=now, since=horizon))
    _, contributions = cluster(reports, window=settings.dedup.window, max_count=settings.dedup.max_count)
    provinces = provinces_by_name(settings)
    drafts: list[AlertDraft] = []
    for spec in specs:
        first, last, history_first = ranges[spec.id]
        if first <= last:
            series = build_series(spec, reports, contributions, calendar, provinces)
            drafts += surge_drafts(spec, series, first=first, last=last, history_first=history_first,
                                   calendar=calendar, fired=_fired_surges(session, spec))
        set_state(session, f"surge:{spec.id}", {"bin": spec.bin, "through": last})
    drafts += _ladder(session, settings, reports, calendar, since=ladder_since, horizon=horizon, now=now)
    set_state(session, LADDER_STATE, {"through": now.isoformat()})
    _proposals(session, settings, reports, now=now)

    raised: list[RaisedAlert] = []
    for draft in sorted(drafts, key=lambda d: (d.moment, d.dedup_key)):
        alert = record_alert(session, config, draft, now=now, deliver_within=settings.analysis.deliver_within)
        if alert is not None:
            raised.append(alert)
            if draft.kind == "escalation":
                upsert_case_file(session, draft.subject, last_alert_id=alert.alert_id)
    session.flush()
    return raised
