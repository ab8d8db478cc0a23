"""normalize(): Arabic/Persian letter forms, marks, ZWNJ and spaces, digits, the offset map."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from monitor.rules import normalize
from tests.rules.conftest import DATA

TABLE = yaml.safe_load((DATA / "normalize.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", TABLE["cases"], ids=[case["id"] for case in TABLE["cases"]])
def test_normalize_table(case: dict[str, Any]) -> None:
    assert normalize(case["text"]).text == case["expected"]


@pytest.mark.parametrize(
    "spellings", TABLE["equivalent"], ids=[group[0] for group in TABLE["equivalent"]]
)
def test_equivalent_spellings(spellings: list[str]) -> None:
    forms = {normalize(text).text for text in spellings}
    assert len(forms) == 1, forms


SAMPLES = [
    "Saeed  Masouri —\n\nexiled to Zahedan Prison (Iran’s south-east).",
    "سعيد ماسوري، زندانی‌ سیاسی، از زندانِ قزل‌حصار به زندان زاهدان تبعـــید شد. ۱٬۴۰۰ اعدام!",
    "Straße İstanbul ﻻ \u200fاعدام\u200e ok",
    "\U0001d404\U0001d431\U0001d41e\U0001d41c \u00a0 اعاده‌ی دادرسی",
]


@pytest.mark.parametrize("raw", SAMPLES, ids=range(len(SAMPLES)))
def test_every_normalised_word_maps_back_to_its_raw_spelling(raw: str) -> None:
    normalized = normalize(raw)
    position = 0
    for word in normalized.text.split(" "):
        if word:
            start, end = normalized.original_span(position, position + len(word))
            assert normalize(raw[start:end]).text.strip() == word, (word, raw[start:end])
        position += len(word) + 1


def test_line_breaks_are_spaces_whose_positions_are_kept() -> None:
    normalized = normalize("first line\nsecond  line\r\n\r\nthird")
    assert normalized.text == "first line second line third"
    assert [normalized.text[i] for i in normalized.breaks] == [" ", " "]
    assert normalized.is_break(10) and normalized.is_break(22) and not normalized.is_break(16)


def test_identity_text_needs_no_offset_map() -> None:
    normalized = normalize("plain ascii words")
    assert normalized.anchors == ()
    assert normalized.original_span(6, 11) == (6, 11)
