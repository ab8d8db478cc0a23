"""Parse publication dates from metadata and visible text, Gregorian and Jalali (Solar Hijri).

Every result is an aware UTC datetime, or None when the value is not a complete, valid date.
Nothing is guessed: a missing year, an unknown time-zone name or an out-of-range Jalali year
gives None rather than a plausible wrong date (dateparser's JalaliCalendar silently returns
a date in the current year when it cannot read the digits; see docs PITFALLS section 6).

Jalali dates are converted with jdatetime; a Jalali time without a zone is Tehran local time.
Numeric dates decide the calendar by the year: 1300-1500 is Jalali, 1900-2199 Gregorian.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import jdatetime

__all__ = ["TEHRAN", "find_date", "parse_date"]

TEHRAN = ZoneInfo("Asia/Tehran")

JALALI_YEARS = range(1300, 1501)
GREGORIAN_YEARS = range(1900, 2200)
MAX_INPUT_CHARS = 300  # longer strings are sentences, not dates

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# Arabic-letter variants as published on cp1256-era pages, ZWNJ (weekday «سه‌شنبه»), bidi marks,
# tatweel and the Arabic comma: folded so one pattern matches every spelling.
_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ك": "ک",
        "\u200c": " ",
        "\u200d": "",
        "\u200e": "",
        "\u200f": "",
        "\u061c": "",
        "\u0640": "",
        "\u00a0": " ",
        "،": ",",
        "٬": ",",
        "أ": "ا",
        "إ": "ا",
    }
)
_SPACES = re.compile(r"\s+")

JALALI_MONTHS: dict[str, int] = {
    "فروردین": 1,
    "اردیبهشت": 2,
    "اردی بهشت": 2,
    "خرداد": 3,
    "تیر": 4,
    "مرداد": 5,
    "امرداد": 5,
    "شهریور": 6,
    "مهر": 7,
    "آبان": 8,
    "ابان": 8,
    "آذر": 9,
    "اذر": 9,
    "دی": 10,
    "بهمن": 11,
    "اسفند": 12,
}
# Gregorian months as Persian sites write them («۱۹ ژوئیه ۲۰۲۵»).
PERSIAN_GREGORIAN_MONTHS: dict[str, int] = {
    "ژانویه": 1,
    "ژانویهٔ": 1,
    "فوریه": 2,
    "مارس": 3,
    "آوریل": 4,
    "اوریل": 4,
    "مه": 5,
    "می": 5,
    "ژوئن": 6,
    "ژوئیه": 7,
    "جولای": 7,
    "اوت": 8,
    "آگوست": 8,
    "سپتامبر": 9,
    "اکتبر": 10,
    "نوامبر": 11,
    "دسامبر": 12,
}
ENGLISH_MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Zone names seen on news sites and in feeds. Unknown names make the date None (never guess).
_ZONES: dict[str, tzinfo] = {
    "z": UTC,
    "ut": UTC,
    "utc": UTC,
    "gmt": UTC,
    "est": timezone(timedelta(hours=-5)),
    "edt": timezone(timedelta(hours=-4)),
    "cst": timezone(timedelta(hours=-6)),
    "cdt": timezone(timedelta(hours=-5)),
    "mst": timezone(timedelta(hours=-7)),
    "mdt": timezone(timedelta(hours=-6)),
    "pst": timezone(timedelta(hours=-8)),
    "pdt": timezone(timedelta(hours=-7)),
    "et": ZoneInfo("America/New_York"),
    "ct": ZoneInfo("America/Chicago"),
    "mt": ZoneInfo("America/Denver"),
    "pt": ZoneInfo("America/Los_Angeles"),
    "bst": timezone(timedelta(hours=1)),
    "cet": timezone(timedelta(hours=1)),
    "cest": timezone(timedelta(hours=2)),
    "irst": timezone(timedelta(hours=3, minutes=30)),
    "irdt": timezone(timedelta(hours=4, minutes=30)),
}


def _alternation(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_OFFSET = r"[+-]\d{2}(?::?\d{2})?"
_ZONE = rf"(?P<zone>{_OFFSET}|(?:utc|gmt)\s*{_OFFSET}|(?:{_alternation(_ZONES)})(?![a-z]))"
_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?(?!\d)"
_AMPM = r"(?:\s*(?P<ampm>[ap]\.?m\.?))?"
_EN_WEEKDAY = r"(?:(?<![a-z])(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_EN_MONTH = rf"(?P<month>{_alternation(ENGLISH_MONTHS)})\.?"
_EN_TIME = rf"(?:(?:\s*,?\s*(?:at\s+)?|\s*[-|]\s*){_CLOCK}{_AMPM}(?:\s*{_ZONE})?)?"

_NUMERIC = re.compile(
    r"(?<!\d)(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})(?!\d)"
    rf"(?:(?:t|\s+|\s*[-,|]\s*){_CLOCK}\s*(?P<zone>z|{_OFFSET})?)?",
    re.IGNORECASE,
)
# ISO 8601 basic format, as in some JSON-LD: 20180619T055000+0900 (the T is required).
_COMPACT = re.compile(
    r"(?<!\d)(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})t(?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})?(?!\d)"
    rf"(?:[.,]\d+)?\s*(?P<zone>z|{_OFFSET})?",
    re.IGNORECASE,
)
_EN_DAY_FIRST = re.compile(
    rf"{_EN_WEEKDAY}(?<!\d)(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_EN_MONTH},?\s+(?P<year>\d{{4}}|\d{{2}})(?!\d)"
    rf"{_EN_TIME}",
    re.IGNORECASE,
)
_EN_MONTH_FIRST = re.compile(
    rf"{_EN_WEEKDAY}(?<![a-z]){_EN_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})(?!\d)"
    rf"{_EN_TIME}",
    re.IGNORECASE,
)
_FA_WEEKDAY = r"(?:(?:(?:یک|دو|سه|چهار|پنج)\s*)?شنبه|جمعه)"
_FA_TIME = rf"(?:\s*[-,|]?\s*(?:ساعت\s*)?{_CLOCK})"
_FA_MONTH = rf"(?P<month>{_alternation([*JALALI_MONTHS, *PERSIAN_GREGORIAN_MONTHS])})(?:\s*ماه)?"
_FA_WORDS = re.compile(
    rf"(?:{_FA_WEEKDAY}\s*,?\s*)?(?<!\d)(?P<day>\d{{1,2}})\s+{_FA_MONTH}\s*,?\s*(?P<year>\d{{4}})(?!\d)"
    rf"(?:\s*(?:ه\.?\s*ش\.?|خورشیدی|شمسی))?{_FA_TIME}?",
)
# Time written before the date, as on many Iranian sites: «۱۳:۴۵ - ۲۸ تیر ۱۴۰۴».
_FA_TIME_FIRST = re.compile(
    rf"(?:ساعت\s*)?(?<!\d){_CLOCK}\s*[-,|]?\s*(?:{_FA_WEEKDAY}\s*,?\s*)?"
    rf"(?:(?P<day>\d{{1,2}})\s+{_FA_MONTH}\s*,?\s*(?P<year>\d{{4}})"
    r"|(?P<nyear>\d{4})(?P<sep>[-/.])(?P<nmonth>\d{1,2})(?P=sep)(?P<nday>\d{1,2}))",
)


def _fold(value: str) -> str:
    return _SPACES.sub(" ", value.translate(_DIGITS).translate(_FOLD)).strip()


def _zone(name: str | None, fallback: tzinfo) -> tzinfo | None:
    """The tzinfo for a zone token; None when the token is present but unknown."""
    if not name:
        return fallback
    token = name.strip().lower().replace(" ", "")
    if token.startswith(("utc", "gmt")) and len(token) > 3:
        token = token[3:]
    if token in _ZONES:
        return _ZONES[token]
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", token)
    if not match:
        return None
    hours, minutes = int(match[2]), int(match[3] or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if match[1] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _clock(groups: dict[str, str | None]) -> time | None:
    if groups.get("hour") is None:
        return time(0, 0)
    hour, minute = int(groups["hour"] or 0), int(groups["minute"] or 0)
    second = int(groups.get("second") or 0)
    ampm = (groups.get("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _build(calendar_date: date | None, clock: time | None, zone: tzinfo | None) -> datetime | None:
    if calendar_date is None or clock is None or zone is None:
        return None
    # fold=0: an ambiguous wall time (DST fall-back) is read as the first occurrence.
    local = datetime.combine(calendar_date, clock).replace(tzinfo=zone, fold=0)
    return local.astimezone(UTC)


def _gregorian(year: int, month: int, day: int) -> date | None:
    if year not in GREGORIAN_YEARS:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _jalali(year: int, month: int, day: int) -> date | None:
    if year not in JALALI_YEARS:
        return None
    try:
        converted: date = jdatetime.date(year, month, day).togregorian()
    except ValueError:
        return None
    return converted


def _from_numeric(groups: dict[str, str | None], default_tz: tzinfo) -> datetime | None:
    year, month, day = int(groups["year"] or 0), int(groups["month"] or 0), int(groups["day"] or 0)
    if year in JALALI_YEARS:
        return _build(_jalali(year, month, day), _clock(groups), _zone(groups["zone"], TEHRAN))
    return _build(_gregorian(year, month, day), _clock(groups), _zone(groups["zone"], default_tz))


def _from_english(groups: dict[str, str | None], default_tz: tzinfo) -> datetime | None:
    year = int(groups["year"] or 0)
    if len(groups["year"] or "") == 2:  # RFC 822 two-digit years, RFC 2822 section 4.3
        year += 2000 if year < 50 else 1900
    month = ENGLISH_MONTHS[(groups["month"] or "").lower()]
    calendar_date = _gregorian(year, month, int(groups["day"] or 0))
    return _build(calendar_date, _clock(groups), _zone(groups.get("zone"), default_tz))


def _from_persian(groups: dict[str, str | None], default_tz: tzinfo) -> datetime | None:
    if groups.get("nyear"):
        groups = {**groups, "year": groups["nyear"], "month": groups["nmonth"], "day": groups["nday"]}
        return _from_numeric({**groups, "zone": None}, default_tz)
    year, day = int(groups["year"] or 0), int(groups["day"] or 0)
    name = groups["month"] or ""
    if name in JALALI_MONTHS:
        calendar_date = _jalali(year, JALALI_MONTHS[name], day)
        return _build(calendar_date, _clock(groups), TEHRAN)
    # Persian-written Gregorian month: the page is Iranian, so its clock is Tehran's too.
    calendar_date = _gregorian(year, PERSIAN_GREGORIAN_MONTHS[name], day)
    return _build(calendar_date, _clock(groups), TEHRAN)


_PATTERNS = (
    (_NUMERIC, _from_numeric),
    (_COMPACT, _from_numeric),
    (_FA_WORDS, _from_persian),
    (_FA_TIME_FIRST, _from_persian),
    (_EN_DAY_FIRST, _from_english),
    (_EN_MONTH_FIRST, _from_english),
)


def parse_date(value: str, *, default_tz: tzinfo = UTC) -> datetime | None:
    """Parse a whole string holding one date (and optional time) into an aware UTC datetime.

    `default_tz` applies to Gregorian values without a zone; Jalali values without a zone are
    Asia/Tehran. Returns None for anything that is not one complete, valid date.
    """
    if not value or len(value) > MAX_INPUT_CHARS:
        return None
    folded = _fold(value).rstrip(".")
    for pattern, convert in _PATTERNS:
        match = pattern.fullmatch(folded)
        if match:
            return convert(match.groupdict(), default_tz)
    return None


def find_date(text: str, *, default_tz: tzinfo = UTC) -> datetime | None:
    """Find the first complete date inside a short visible text («تاریخ انتشار: ۲۸ تیر ۱۴۰۴»).

    Meant for the text of one byline/date element, not whole articles: the earliest match
    in the text wins, and a match that is not a valid date gives None rather than a later one.
    """
    if not text or len(text) > MAX_INPUT_CHARS:
        return None
    folded = _fold(text)
    matches = [
        (match, convert) for pattern, convert in _PATTERNS if (match := pattern.search(folded)) is not None
    ]
    if not matches:
        return None
    match, convert = min(matches, key=lambda found: found[0].start())
    return convert(match.groupdict(), default_tz)
