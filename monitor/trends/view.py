"""A surge series as rows for ``tocsin trends``: counts, window totals, baseline, control limit, alerts.

Computed from the stored matches on demand (the same code the analysis runs), so the table and the chart
show exactly what the detector saw; the alerts marked are the stored surge alerts of that series and scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from config.early_warning import EarlyWarningConfig
from config.errors import UnknownSeries
from monitor.trends.analysis import provinces_by_name, series_specs
from monitor.trends.calendar import Calendar
from monitor.trends.events import cluster, fold_location, reports_from_rows
from monitor.trends.surge import (
    COUNTRY,
    ScopeSeries,
    SeriesSpec,
    build_series,
    judge,
    parse_surge_key,
    pooled_dispersions,
)
from storage.trends_repo import alerts_with_key_prefix, first_report_at, match_rows


@dataclass(frozen=True)
class TrendRow:
    bin: int
    start: date
    count: float
    window: float
    expected: float | None
    limit: int | None
    p_value: float | None
    alert: str | None  # the dedup key of a stored surge alert on this bin


@dataclass
class TrendView:
    spec: SeriesSpec
    scope_key: str
    scope_name: str
    rows: list[TrendRow] = field(default_factory=list)
    scopes: list[tuple[str, float]] = field(default_factory=list)  # other scope values: (name, recent total)

    @property
    def unit(self) -> str:
        return self.spec.bin


def find_spec(settings: EarlyWarningConfig, series_id: str | None) -> SeriesSpec:
    specs = series_specs(settings)
    if not specs:
        raise UnknownSeries("no surge series configured (early_warning.yaml: series, rhetoric)")
    if series_id is None:
        return specs[0]
    for spec in specs:
        if spec.id == series_id:
            return spec
    raise UnknownSeries(f"no series {series_id!r} (known: {', '.join(s.id for s in specs)})")


def trend_view(session: Session, settings: EarlyWarningConfig, *, series_id: str | None, scope: str | None,
               bins: int, now: datetime) -> TrendView:
    """The last ``bins`` closed bins of a series in one scope (the country, or ``scope`` by name)."""
    spec = find_spec(settings, series_id)
    calendar = Calendar(settings.analysis.timezone)
    start = first_report_at(session, until=now)
    last = calendar.last_closed_bin(now, spec.bin)
    if start is None:
        return TrendView(spec, COUNTRY[0], COUNTRY[1])
    history_first = calendar.bin_of(start, spec.bin)
    first = max(history_first, last - bins + 1)
    reports = reports_from_rows(match_rows(session, until=now))
    _, contributions = cluster(reports, window=settings.dedup.window, max_count=settings.dedup.max_count)
    series_map = build_series(spec, reports, contributions, calendar, provinces_by_name(settings))
    recent = sorted(((s.name, s.total(last - spec.window_bins + 1, last)) for s in series_map.values()),
                    key=lambda pair: (-pair[1], pair[0]))
    if spec.scope == "country":
        key, name = COUNTRY
    elif scope is None:
        raise UnknownSeries(f"series {spec.id!r} is per {spec.scope}: pass --scope NAME (busiest: "
                            f"{', '.join(n for n, _ in recent[:8]) or 'none yet'})")
    else:
        key, name = fold_location(scope), scope
    series = series_map.get(key, ScopeSeries(key, name))
    pooled = pooled_dispersions(spec, series_map, first=first, last=last, history_first=history_first)
    marked = {}
    for dedup_key, _, _ in alerts_with_key_prefix(session, f"surge|{spec.id}|"):
        parsed = parse_surge_key(dedup_key)
        if parsed is not None and parsed[1] == key:
            marked[calendar.bin_of_day(date.fromisoformat(parsed[2]), spec.bin)] = dedup_key
    view = TrendView(spec, key, series.name, scopes=recent)
    for end in range(first, last + 1):
        verdict = judge(series, end, spec, history_first=history_first, pooled_dispersion=pooled[end],
                        with_limit=True)
        view.rows.append(TrendRow(
            bin=end, start=calendar.bin_start(end, spec.bin), count=series.values.get(end, 0.0),
            window=series.total(end - spec.window_bins + 1, end),
            expected=verdict.expected if verdict else None, limit=verdict.limit if verdict else None,
            p_value=verdict.p_value if verdict else None, alert=marked.get(end)))
    return view
