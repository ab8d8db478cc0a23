"""Days and weeks in the configured time zone, numbered so windows are integer ranges.

A *bin* is a local day or a local ISO week (Monday first). A bin is *closed* once its last local midnight has
passed; only closed bins are judged, so a verdict never changes as the day fills up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BIN_DAYS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def bin_of(self, at: datetime, unit: str) -> int:
        return self.bin_of_day(self.day(at), unit)

    @staticmethod
    def bin_of_day(day: date, unit: str) -> int:
        ordinal = day.toordinal()  # date(1, 1, 1), ordinal 1, was a Monday
        return ordinal if unit == "day" else (ordinal - 1) // 7

    @staticmethod
    def bin_start(index: int, unit: str) -> date:
        return date.fromordinal(index if unit == "day" else index * 7 + 1)

    def bin_last_day(self, index: int, unit: str) -> date:
        return self.bin_start(index, unit) + timedelta(days=BIN_DAYS[unit] - 1)

    def bin_end(self, index: int, unit: str) -> datetime:
        """The UTC instant the bin closes (the local midnight after its last day)."""
        after = self.bin_start(index + 1, unit)
        return datetime.combine(after, time(0), tzinfo=self.zone).astimezone(UTC)

    def last_closed_bin(self, now: datetime, unit: str) -> int:
        return self.bin_of(now, unit) - 1
