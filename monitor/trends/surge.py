"""The surge detector: is this window's count surprising given the trailing baseline?

For each series (an event type in a scope: country, prison, place or province) the counts are binned per
local day (or week). On each closed bin *t* the detector compares

* the **window**: the sum ``x`` of the last ``W`` bins (t-W+1 .. t), with
* the **baseline**: the ``B`` bins before the window (fewer at the start of the history; no verdict until
  ``min_history`` of baseline exists).

From the baseline bins it takes the mean ``m = (S + 0.5) / n`` (S the baseline total, n its bins; the half
count keeps a silent baseline from expecting exactly zero) and the sample variance ``v``. Executions come in
batches (nine hanged one morning), so counts are over-dispersed and a Poisson tail would cry wolf. For a prison
or province, whose baseline holds a handful of batches, ``v`` is floored at ``D·m`` where ``D`` is the
variance-to-mean ratio of the series' total over the same bins (pooled over-dispersion). Under the baseline
the window total has mean ``mu = W·m`` and variance ``W·max(v, m)``; the detector fits a negative binomial
to them (method of moments) and computes ``p = P(X >= x)``. The bin alerts when

    p <= alpha  and  x >= min_count  and  x >= min_ratio · mu  and  the window holds >= min_events events

(one mass execution is an incident for the event alerts, not a trend). ``p <= critical_alpha`` makes it
critical. A series and scope alerts at most once per ``cooldown``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from config.early_warning import SeriesConfig, SurgeThresholds
from monitor.trends.alerting import AlertDraft
from monitor.trends.calendar import BIN_DAYS, Calendar
from monitor.trends.events import Contribution, Report, fold_location
from monitor.trends.stats import smallest_surprising, tail_probability

COUNTRY = ("iran", "Iran")
MAX_CONTRIBUTING = 100


@dataclass(frozen=True)
class SeriesSpec:
    """A series ready to evaluate (from a ``series`` entry or the rhetoric section)."""

    id: str
    title: str
    event_types: frozenset[str]
    scope: str
    measure: str
    bin: str
    source_tags: frozenset[str] | None
    thresholds: SurgeThresholds

    @classmethod
    def from_config(cls, series: SeriesConfig, defaults: SurgeThresholds) -> SeriesSpec:
        return cls(series.id, series.title, frozenset({series.event}), series.scope, series.measure,
                   series.bin, frozenset(series.source_tags) if series.source_tags else None,
                   series.thresholds(defaults))

    @property
    def bin_length(self) -> timedelta:
        return timedelta(days=BIN_DAYS[self.bin])

    @property
    def window_bins(self) -> int:
        return self.thresholds.window // self.bin_length

    @property
    def baseline_bins(self) -> int:
        return self.thresholds.baseline // self.bin_length

    @property
    def min_history_bins(self) -> int:
        return max(2, math.ceil(self.thresholds.min_history / self.bin_length))

    def wants(self, report: Report) -> bool:
        if report.event_type not in self.event_types:
            return False
        return self.source_tags is None or bool(self.source_tags & set(report.source_tags))


@dataclass
class ScopeSeries:
    """Counts per bin for one scope value, with the reports behind each bin and what each added."""

    key: str
    name: str
    values: dict[int, float] = field(default_factory=dict)
    reports: dict[int, list[tuple[Report, float, int]]] = field(default_factory=dict)  # (report, added, event)

    def add(self, index: int, amount: float, report: Report, event: int) -> None:
        self.values[index] = self.values.get(index, 0.0) + amount
        self.reports.setdefault(index, []).append((report, amount, event))

    def total(self, first: int, last: int) -> float:
        return sum(self.values.get(i, 0.0) for i in range(first, last + 1))

    def events(self, first: int, last: int) -> int:
        """Distinct events that added to the count in bins ``first..last``."""
        return len({e for i in range(first, last + 1) for _, amount, e in self.reports.get(i, []) if amount > 0})


def _targets(scope: str, prisons: Sequence[str], places: Sequence[str],
             provinces: dict[str, str]) -> list[tuple[str, str]]:
    if scope == "country":
        return [COUNTRY]
    names = {"prison": prisons, "place": places}.get(scope, [*prisons, *places])
    out: dict[str, str] = {}
    for name in names:
        if scope == "province":
            province = provinces.get(fold_location(name))
            if province is not None:
                out.setdefault(fold_location(province), province)
        else:
            out.setdefault(fold_location(name), name)
    return list(out.items())


def build_series(spec: SeriesSpec, reports: Iterable[Report], contributions: Iterable[Contribution],
                 calendar: Calendar, provinces: dict[str, str]) -> dict[str, ScopeSeries]:
    """Bin the series' contributions (events) or items per scope value; ``provinces`` maps folded names."""
    out: dict[str, ScopeSeries] = {}

    def add(report: Report, amount: float, event: int, prisons: Sequence[str], places: Sequence[str]) -> None:
        targets = _targets(spec.scope, prisons, places, provinces)
        for key, name in targets:
            series = out.setdefault(key, ScopeSeries(key, name))
            series.add(calendar.bin_of(report.at, spec.bin), amount / len(targets), report, event)

    if spec.measure == "items":
        seen: set[int] = set()
        for report in reports:
            if spec.wants(report) and report.item_id not in seen:
                seen.add(report.item_id)
                add(report, 1.0, report.item_id, report.prisons, report.places)
    else:
        for c in contributions:
            if spec.wants(c.report):
                add(c.report, float(c.amount), id(c.event), c.prisons, c.places)
    return out


@dataclass(frozen=True)
class Verdict:
    """The detector's judgement of one closed bin."""

    bin: int
    observed: float
    expected: float
    baseline_mean: float
    baseline_var: float
    baseline_first: int
    baseline_bins: int
    p_value: float
    alert: bool
    severity: str
    events: int = 0
    limit: int | None = None  # the smallest window count that would alert (for charts)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else math.inf


def baseline_bins_of(spec: SeriesSpec, end: int, history_first: int) -> tuple[int, int] | None:
    """(first bin, number of bins) of the baseline before the window ending at ``end``, if long enough."""
    window_first = end - spec.window_bins + 1
    base_first = max(history_first, window_first - spec.baseline_bins)
    if window_first - base_first < spec.min_history_bins:
        return None
    return base_first, window_first - base_first


def baseline_moments(series: ScopeSeries, first: int, bins: int) -> tuple[float, float]:
    """Mean (with the half-count prior) and sample variance of the series over the baseline bins."""
    base = [series.values.get(i, 0.0) for i in range(first, first + bins)]
    total = sum(base)
    mean = (total + 0.5) / bins
    var = sum((v - total / bins) ** 2 for v in base) / (bins - 1)
    return mean, var


def dispersion(series: ScopeSeries, spec: SeriesSpec, end: int, *, history_first: int) -> float:
    """Index of dispersion (variance / mean, at least 1) of ``series`` over the baseline of ``end``."""
    found = baseline_bins_of(spec, end, history_first)
    if found is None:
        return 1.0
    mean, var = baseline_moments(series, *found)
    return max(1.0, var / mean)


def judge(series: ScopeSeries, end: int, spec: SeriesSpec, *, history_first: int,
          pooled_dispersion: float = 1.0, with_limit: bool = False) -> Verdict | None:
    """Judge the window ending at bin ``end``; None while the baseline is shorter than ``min_history``.

    ``pooled_dispersion`` is a floor for the variance-to-mean ratio: the dispersion of the series' total,
    since a prison with three batches in ninety days cannot estimate its own variance.
    """
    th = spec.thresholds
    found = baseline_bins_of(spec, end, history_first)
    if found is None:
        return None
    base_first, base_bins = found
    window_first = end - spec.window_bins + 1
    mean, var = baseline_moments(series, base_first, base_bins)
    var = max(var, pooled_dispersion * mean)
    expected = spec.window_bins * mean
    window_var = spec.window_bins * max(var, mean)
    observed = series.total(window_first, end)
    events = series.events(window_first, end)
    plausible = (observed >= th.min_count and observed >= th.min_ratio * expected
                 and events >= th.min_events)
    p_value = tail_probability(observed, expected, window_var, method=th.method) if plausible or with_limit \
        else 1.0
    alert = plausible and p_value <= th.alpha
    critical = th.critical_alpha is not None and p_value <= th.critical_alpha
    limit = None
    if with_limit:
        surprising = smallest_surprising(expected, window_var, th.alpha, method=th.method)
        limit = max(math.ceil(th.min_count - 1e-9), math.ceil(th.min_ratio * expected - 1e-9), surprising)
    return Verdict(end, observed, expected, mean, var, base_first, base_bins, p_value, alert,
                   "critical" if alert and critical else th.severity, events, limit)


def surge_key(spec: SeriesSpec, scope_key: str, day: str) -> str:
    return f"surge|{spec.id}|{scope_key.replace('|', '/')[:150]}|{day}"


def parse_surge_key(key: str) -> tuple[str, str, str] | None:
    """(series id, scope key, day) of a surge dedup key."""
    parts = key.split("|")
    if len(parts) < 4 or parts[0] != "surge":
        return None
    return parts[1], "|".join(parts[2:-1]), parts[-1]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def draft_surge(spec: SeriesSpec, series: ScopeSeries, verdict: Verdict, calendar: Calendar) -> AlertDraft:
    """The alert for an alerting verdict, with its figures and the items behind the window."""
    first = verdict.bin - spec.window_bins + 1
    window_from = calendar.bin_start(first, spec.bin)
    window_to = calendar.bin_last_day(verdict.bin, spec.bin)
    entries = [(report, amount) for i in range(first, verdict.bin + 1)
               for report, amount, _ in series.reports.get(i, [])]
    entries.sort(key=lambda e: (-e[1], e[0].at, e[0].item_id))
    contributing = [
        report.source_ref() | {"event_type": report.event_type, "count": report.count,
                               "places": [*report.prisons, *report.places], "added": round(amount, 3)}
        for report, amount in entries[:MAX_CONTRIBUTING]]
    scope_label = "" if spec.scope == "country" else f" in {series.name} ({spec.scope})"
    unit = "day" if spec.bin == "day" else "week"
    span = f"{spec.window_bins} {unit}{'s' if spec.window_bins > 1 else ''}"
    title = (f"Surge in {spec.title}{scope_label}: {_fmt(verdict.observed)} in {span} to {window_to} "
             f"(expected {verdict.expected:.1f})")
    summary = (f"{_fmt(verdict.observed)} in {span} ({window_from} to {window_to}) against "
               f"{verdict.baseline_mean:.2f} per {unit} over the {verdict.baseline_bins} {unit}s before "
               f"(expected {verdict.expected:.1f}, {verdict.ratio:.1f}x); "
               f"P(X >= {_fmt(verdict.observed)}) = {verdict.p_value:.2g} under a "
               f"{'negative binomial' if spec.thresholds.method == 'negbin' else 'Poisson'} baseline.")
    details: dict[str, Any] = {
        "series": spec.id, "scope": spec.scope, "scope_key": series.key, "scope_name": series.name,
        "event_types": sorted(spec.event_types), "measure": spec.measure, "bin": spec.bin,
        "window_from": window_from.isoformat(), "window_to": window_to.isoformat(),
        "observed": round(verdict.observed, 3), "expected": round(verdict.expected, 3),
        "ratio": round(verdict.ratio, 3), "baseline_mean": round(verdict.baseline_mean, 4),
        "baseline_var": round(verdict.baseline_var, 4), "baseline_bins": verdict.baseline_bins,
        "baseline_from": calendar.bin_start(verdict.baseline_first, spec.bin).isoformat(),
        "p_value": verdict.p_value, "method": spec.thresholds.method, "alpha": spec.thresholds.alpha,
        "min_count": spec.thresholds.min_count, "min_ratio": spec.thresholds.min_ratio,
        "events": verdict.events, "reports": len(entries), "items": len({r.item_id for r, _ in entries}),
        "contributing": contributing,
    }
    return AlertDraft(
        kind="surge", dedup_key=surge_key(spec, series.key, window_to.isoformat()),
        event_type=sorted(spec.event_types)[0], severity=verdict.severity, subject=series.name, title=title,
        summary=summary, details=details, moment=calendar.bin_end(verdict.bin, spec.bin),
        tags={t for r, _ in entries for t in r.source_tags}, langs={r.lang for r, _ in entries},
    )


def total_series(series_map: dict[str, ScopeSeries]) -> ScopeSeries:
    total = ScopeSeries("*", "all")
    for series in series_map.values():
        for index, value in series.values.items():
            total.values[index] = total.values.get(index, 0.0) + value
    return total


def pooled_dispersions(spec: SeriesSpec, series_map: dict[str, ScopeSeries], *, first: int, last: int,
                       history_first: int) -> dict[int, float]:
    """Bin -> the dispersion floor for every scope value: 1 for the country, else that of the total."""
    if spec.scope == "country":
        return dict.fromkeys(range(first, last + 1), 1.0)
    total = total_series(series_map)
    return {end: dispersion(total, spec, end, history_first=history_first) for end in range(first, last + 1)}


def surge_drafts(spec: SeriesSpec, series_map: dict[str, ScopeSeries], *, first: int, last: int,
                 history_first: int, calendar: Calendar,
                 fired: dict[str, list[datetime]]) -> list[AlertDraft]:
    """Alerts for the closed bins ``first..last``; ``fired`` (scope key -> alert moments) is the cooldown
    memory, read and extended, so a series and scope alerts once per cooldown however often this runs."""
    drafts: list[AlertDraft] = []
    cooldown = spec.thresholds.cooldown
    pooled = pooled_dispersions(spec, series_map, first=first, last=last, history_first=history_first)
    for key in sorted(series_map):
        series = series_map[key]
        for end in range(first, last + 1):
            if series.total(end - spec.window_bins + 1, end) < max(spec.thresholds.min_count, 1e-9):
                continue  # cannot alert: skip the baseline arithmetic
            verdict = judge(series, end, spec, history_first=history_first, pooled_dispersion=pooled[end])
            if verdict is None or not verdict.alert:
                continue
            moment = calendar.bin_end(end, spec.bin)
            if any(abs(moment - earlier) < cooldown for earlier in fired.get(key, [])):
                continue
            fired.setdefault(key, []).append(moment)
            drafts.append(draft_surge(spec, series, verdict, calendar))
    drafts.sort(key=lambda d: (d.moment, d.dedup_key))
    return drafts
