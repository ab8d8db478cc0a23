"""Small value types shared by the settings schemas: durations, sizes, clock times."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 2**20, "gb": 10**9, "gib": 2**30}


def parse_duration(value: Any) -> timedelta:
    """Accept ``"90s"``, ``"30m"``, ``"2h"``, ``"7d"``, ``"1w"`` or a number of seconds (never negative)."""
    if isinstance(value, timedelta):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = timedelta(seconds=value)
    elif isinstance(value, str) and (found := _DURATION.match(value.strip().removeprefix("-"))):
        sign = -1 if value.strip().startswith("-") else 1
        parsed = timedelta(seconds=sign * float(found[1]) * _UNITS[found[2]])
    else:
        raise ValueError(f"expected a duration such as '90s', '30m', '2h' or '7d', got {value!r}")
    if parsed < timedelta(0):
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return parsed


def positive_interval(value: timedelta) -> timedelta:
    """How often something runs, or how long it may take: zero would mean "constantly" or "never"."""
    if value <= timedelta(0):
        raise ValueError(f"must be longer than 0 (short values such as '1s' are allowed), got "
                         f"'{format_duration(value)}'")
    return value


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


def parse_size(value: Any) -> int:
    """Accept ``"10MiB"``, ``"500KB"`` or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and (found := _SIZE.match(value)):
        return int(float(found[1]) * _SIZE_UNITS[(found[2] or "b").lower()])
    raise ValueError(f"expected a size such as '10MiB' or '500KB', got {value!r}")


def parse_clock(value: Any) -> time:
    """Accept ``"22:00"``."""
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (found := re.match(r"^([01]?\d|2[0-3]):([0-5]\d)$", value.strip())):
        return time(int(found[1]), int(found[2]))
    raise ValueError(f"expected a time of day such as '22:00', got {value!r}")


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration)]
# An interval, timeout or window: more than zero (a 0s schedule would otherwise become a busy loop).
Interval = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(positive_interval),
                     PlainSerializer(format_duration)]
ByteSize = Annotated[int, BeforeValidator(parse_size)]
ClockTime = Annotated[time, BeforeValidator(parse_clock)]
