"""The rhetoric trend: how many state-media items a week call for violence (e.g. to repeat 1988).

Rhetoric is counted in items (each editorial or broadcast once), per local ISO week, and judged by the same
detector as executions (:mod:`monitor.trends.surge`) against the trailing weeks.
"""

from __future__ import annotations

from config.early_warning import RhetoricConfig, SurgeThresholds
from monitor.trends.surge import SeriesSpec

RHETORIC_ID = "rhetoric"


def rhetoric_spec(config: RhetoricConfig) -> SeriesSpec | None:
    """The weekly rhetoric series, or None when it is switched off."""
    if not config.enabled or not config.events:
        return None
    thresholds = SurgeThresholds(
        window=config.window, baseline=config.baseline, min_history=config.min_history, method="negbin",
        alpha=config.alpha, critical_alpha=config.critical_alpha, min_count=config.min_count,
        min_ratio=config.min_ratio, min_events=1, cooldown=config.cooldown, severity=config.severity,
    )
    return SeriesSpec(
        id=RHETORIC_ID, title="state-media rhetoric", event_types=frozenset(config.events), scope="country",
        measure="items", bin="week", source_tags=frozenset(config.source_tags) if config.source_tags else None,
        thresholds=thresholds,
    )
