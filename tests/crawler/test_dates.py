"""Publication dates: exact UTC values for Gregorian and Jalali forms, None rather than a wrong date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from crawler.dates import find_date, parse_date

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "data" / "dates.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_parse_date_table(case: dict[str, Any]) -> None:
    parsed = parse_date(case["value"])

    if case["expected"] is None:
        assert parsed is None
    else:
        assert parsed == datetime.fromisoformat(case["expected"])
        assert parsed is not None and parsed.tzinfo is UTC


def test_table_is_large_and_covers_rejections() -> None:
    assert len(CASES) >= 30
    assert sum(case["expected"] is None for case in CASES) >= 10


def test_default_tz_applies_to_naive_gregorian_only() -> None:
    new_york = ZoneInfo("America/New_York")

    assert parse_date("2025-07-21 10:00", default_tz=new_york) == datetime(2025, 7, 21, 14, 0, tzinfo=UTC)
    # An explicit zone beats the default, and Jalali stays Tehran time.
    assert parse_date("2025-07-21T10:00Z", default_tz=new_york) == datetime(2025, 7, 21, 10, 0, tzinfo=UTC)
    assert parse_date("۱۴۰۴/۰۴/۲۸ ۱۳:۴۵", default_tz=new_york) == datetime(2025, 7, 19, 10, 15, tzinfo=UTC)


def test_fixed_offset_default_tz() -> None:
    tehran_fixed = timezone(timedelta(hours=3, minutes=30))

    parsed = parse_date("July 21, 2025 13:45", default_tz=tehran_fixed)

    assert parsed == datetime(2025, 7, 21, 10, 15, tzinfo=UTC)


def test_arabic_indic_digits_do_not_become_the_current_year() -> None:
    """dateparser's JalaliCalendar returned a date in the current Jalali year here (PITFALLS 6)."""
    parsed = parse_date("٣١ شهریور ١٤٠٣")

    assert parsed is not None
    assert parsed.astimezone(ZoneInfo("Asia/Tehran")).date().isoformat() == "2024-09-21"


def test_overlong_input_is_rejected_without_searching() -> None:
    assert parse_date("۲۸ تیر ۱۴۰۴ " + "x" * 400) is None
    assert find_date("x" * 400 + " ۲۸ تیر ۱۴۰۴") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("تاریخ انتشار: سه‌شنبه ۳۱ تیر ۱۴۰۴ - ساعت ۱۰:۳۰", datetime(2025, 7, 22, 7, 0, tzinfo=UTC)),
        ("کد خبر: ۸۲۷۴۵ | ۱۴۰۴/۰۴/۲۸ ۰۹:۰۰", datetime(2025, 7, 19, 5, 30, tzinfo=UTC)),
        ("Published: July 21, 2025 10:00 GMT | Updated later", datetime(2025, 7, 21, 10, 0, tzinfo=UTC)),
        ("Posted on 2025-07-21T08:00:00Z by staff", datetime(2025, 7, 21, 8, 0, tzinfo=UTC)),
        ("بازدید: ۱۲۳۴", None),
        ("۲۸ تیر", None),
        ("", None),
    ],
    ids=["fa-label-weekday", "fa-news-code", "en-label", "iso-in-text", "no-date", "no-year", "empty"],
)
def test_find_date_in_visible_text(text: str, expected: datetime | None) -> None:
    assert find_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["serial 12025-07-21", "کد ۱۲۸ تیر ۱۴۰۴", "to our dismay 5, 2025", "۲۸ تیر ۱۴۰۴۵", "ref 20250721T10005"],
    ids=[
        "digit-before-iso",
        "digit-before-day",
        "month-inside-word",
        "digit-after-year",
        "digit-after-basic",
    ],
)
def test_find_date_needs_word_boundaries(text: str) -> None:
    assert find_date(text) is None


def test_find_date_takes_the_earliest_date() -> None:
    assert find_date("۲۸ تیر ۱۴۰۴ (به‌روزرسانی: ۲۹ تیر ۱۴۰۴)") == datetime(2025, 7, 18, 20, 30, tzinfo=UTC)
