"""The early-warning file (``early_warning.yaml``): surge series, the escalation ladder, watchlist proposals.

Every figure here is a knob the analysts own; the code has no fixed thresholds. A configuration directory
without the file gets the packaged ``config/defaults/early_warning.yaml``. Errors are located
(``early_warning.yaml:12:5: series[1].alpha: ...``) like every other config file.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator

from config.schema import Severity, Strict
from config.types import Duration
from config.yamlfile import YamlDocument, load_yaml, validate

FILE_NAME = "early_warning.yaml"
DEFAULT_FILE = Path(__file__).resolve().parent / "defaults" / FILE_NAME

Scope = Literal["country", "prison", "place", "province"]
Measure = Literal["events", "items"]
Bin = Literal["day", "week"]
Method = Literal["negbin", "poisson"]


class SurgeThresholds(Strict):
    """How a window is judged against its baseline; every series may override any of these."""

    window: Duration = timedelta(days=7)
    baseline: Duration = timedelta(days=90)
    min_history: Duration = Field(default=timedelta(days=28), description="baseline needed for a verdict")
    method: Method = "negbin"
    alpha: float = Field(default=0.001, gt=0, lt=0.5, description="alert at P(X >= x) <= alpha")
    critical_alpha: float | None = Field(default=None, gt=0, lt=0.5, description="critical at or below")
    min_count: float = Field(default=5, ge=0, description="fewest to alert on")
    min_ratio: float = Field(default=1.5, ge=1, description="least observed/expected")
    min_events: int = Field(default=2, ge=1, description="distinct events in the window: one is an incident")
    cooldown: Duration = Field(default=timedelta(days=14), description="one alert per span")
    severity: Severity = "warning"


class SeriesOverrides(Strict):
    window: Duration | None = None
    baseline: Duration | None = None
    min_history: Duration | None = None
    method: Method | None = None
    alpha: float | None = Field(default=None, gt=0, lt=0.5)
    critical_alpha: float | None = Field(default=None, gt=0, lt=0.5)
    min_count: float | None = Field(default=None, ge=0)
    min_ratio: float | None = Field(default=None, ge=1)
    min_events: int | None = Field(default=None, ge=1)
    cooldown: Duration | None = None
    severity: Severity | None = None


class SeriesConfig(SeriesOverrides):
    """One surge series: an event type counted per day (or week) in one scope."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)
    event: str
    scope: Scope = "country"
    measure: Measure = Field(default="events", description="events or items")
    bin: Bin = "day"
    source_tags: list[str] | None = Field(default=None, description="only these source tags")
    label: str | None = None

    def thresholds(self, defaults: SurgeThresholds) -> SurgeThresholds:
        # Unset keys inherit; an explicit `critical_alpha: null` switches critical verdicts off.
        given = {name: getattr(self, name) for name in SeriesOverrides.model_fields
                 if getattr(self, name) is not None
                 or (name == "critical_alpha" and name in self.model_fields_set)}
        merged = defaults.model_copy(update=given)
        bin_length = timedelta(days=7 if self.bin == "week" else 1)
        for name in ("window", "baseline"):
            value: timedelta = getattr(merged, name)
            if value < bin_length or value % bin_length:
                raise ValueError(f"series {self.id!r}: {name} must be a whole number of {self.bin}s")
        return merged

    @model_validator(mode="after")
    def _whole_bins(self) -> SeriesConfig:
        bin_length = timedelta(days=7 if self.bin == "week" else 1)
        for name in ("window", "baseline"):
            value: timedelta | None = getattr(self, name)
            if value is not None and (value < bin_length or value % bin_length):
                raise ValueError(f"{name} must be a whole number of {self.bin}s")
        return self

    @property
    def title(self) -> str:
        """What the series counts, for alert titles: the label, else the event type in the plural."""
        if self.label:
            return self.label
        words = self.event.replace("_", " ")
        return words if self.measure == "items" or words.endswith("s") else f"{words}s"


class RhetoricConfig(Strict):
    """The weekly count of state-media rhetoric items, judged like any other surge series."""

    enabled: bool = True
    events: list[str] = ["rhetoric"]
    source_tags: list[str] | None = None
    window: Duration = timedelta(weeks=1)
    baseline: Duration = timedelta(weeks=12)
    min_history: Duration = timedelta(weeks=4)
    alpha: float = Field(default=0.005, gt=0, lt=0.5)
    critical_alpha: float | None = Field(default=None, gt=0, lt=0.5)
    min_count: float = Field(default=3, ge=0)
    min_ratio: float = Field(default=2.0, ge=1)
    cooldown: Duration = timedelta(weeks=2)
    severity: Severity = "warning"

    @field_validator("window", "baseline")
    @classmethod
    def _whole_weeks(cls, value: timedelta) -> timedelta:
        if value < timedelta(weeks=1) or value % timedelta(weeks=1):
            raise ValueError("must be a whole number of weeks, such as '1w' or '12w'")
        return value


class DedupConfig(Strict):
    """When reports from several outlets are one event (see docs/early-warning.md)."""

    window: Duration = Field(default=timedelta(days=3), description="same-event span")
    max_count: int = Field(default=60, ge=1, description="larger = a statistic")


class Requirement(Strict):
    """One of the events a ladder step needs: any of ``events`` within ``within`` before the moment judged."""

    events: list[str] = Field(min_length=1)
    within: Duration


class Condition(Strict):
    all_of: list[Requirement] = Field(min_length=1)


class LadderLevel(Strict):
    """A rung: reached when any condition holds; rungs are listed from lowest to highest."""

    level: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    severity: Severity
    alert: bool = True
    any_of: list[Condition] = Field(min_length=1)


class LadderConfig(Strict):
    realert_after: Duration = Field(default=timedelta(days=90), description="one alert per span")
    timeline_events: int = Field(default=20, ge=1, description="events per alert")
    levels: list[LadderLevel] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _unique_levels(cls, value: list[LadderLevel]) -> list[LadderLevel]:
        names = [level.level for level in value]
        for name in names:
            if name == "none" or names.count(name) > 1:
                raise ValueError(f"level {name!r} is reserved or listed twice")
        return value

    @property
    def event_types(self) -> set[str]:
        return {e for lv in self.levels for c in lv.any_of for r in c.all_of for e in r.events}

    @property
    def lookback(self) -> timedelta:
        return max(r.within for lv in self.levels for c in lv.any_of for r in c.all_of)


class ProposalConfig(Strict):
    """Unknown names that keep appearing in these event types are proposed as watchlist additions."""

    enabled: bool = True
    events: list[str] = ["death_sentence", "transfer"]
    min_items: int = Field(default=2, ge=1)
    min_sources: int = Field(default=1, ge=1)
    within: Duration = timedelta(days=180)
    ignore: list[str] = Field(default_factory=list, description="names never to propose")


class CasesConfig(Strict):
    """Which event types make a person's case timeline."""

    ignore_events: list[str] = Field(default_factory=lambda: ["watchlist"],
                                     description="not case events (watchlist: a mention)")


class AnalysisConfig(Strict):
    timezone: str = Field(default="UTC", description="days and weeks are counted in this time zone")
    recheck: Duration = Field(default=timedelta(days=3), description="late-report margin")
    deliver_within: Duration = Field(default=timedelta(days=7), description="older alerts are not sent")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. 'Asia/Tehran')") from None
        return value


class EarlyWarningConfig(Strict):
    enabled: bool = True
    analysis: AnalysisConfig = AnalysisConfig()
    dedup: DedupConfig = DedupConfig()
    surge: SurgeThresholds = SurgeThresholds()
    series: list[SeriesConfig] = []
    rhetoric: RhetoricConfig = RhetoricConfig()
    provinces: dict[str, list[str]] = Field(default_factory=dict, description="province -> names")
    ladder: LadderConfig | None = None
    cases: CasesConfig = CasesConfig()
    proposals: ProposalConfig = ProposalConfig()

    @field_validator("series")
    @classmethod
    def _check_series(cls, value: list[SeriesConfig], info: ValidationInfo) -> list[SeriesConfig]:
        defaults = info.data.get("surge", SurgeThresholds())
        seen: set[str] = set()
        for series in value:
            if series.id in seen or series.id == "rhetoric":
                raise ValueError(f"series id {series.id!r} is reserved or used twice")
            seen.add(series.id)
            series.thresholds(defaults)
        return value

    def province_of(self) -> dict[str, str]:
        """Place or prison name (as written here) -> province."""
        return {name: province for province, names in self.provinces.items() for name in names}


def _validate(document: YamlDocument) -> EarlyWarningConfig:
    return validate(EarlyWarningConfig, document)


def load_early_warning(directory: Path) -> EarlyWarningConfig:
    """``DIR/early_warning.yaml`` when present, else the packaged defaults; raises a located ConfigError."""
    path = directory / FILE_NAME
    return _validate(load_yaml(path if path.is_file() else DEFAULT_FILE))
