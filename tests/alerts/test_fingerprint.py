"""Content fingerprints: copies fold alike across scripts, and stored fingerprints stay comparable."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.alerts import fingerprint as fp

CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "fingerprint" / "folding.yaml").read_text())
MASOURI_EN = ("Political prisoner Saeed Masouri was transferred from Ghezel Hesar prison to an unknown location "
              "at dawn on Tuesday, his family said.")
MASOURI_FA = ("سعید ماسوری، زندانی سیاسی، سحرگاه سه‌شنبه از زندان قزل‌حصار به مکان نامعلومی منتقل شد. "
              "ماموران امنیتی دلیلی برای این انتقال اعلام نکردند ۱۴۰۴/۰۴/۲۸.")


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_words_fold_letter_forms_marks_digits_and_joiners(case: dict[str, object]) -> None:
    assert fp.words(str(case["text"])) == case["words"]


def test_fingerprints_stored_by_earlier_versions_still_compare() -> None:
    # Item.fingerprint holds these SimHashes in existing databases; a new article is compared against them,
    # so the folding and hashing must not drift (values recorded from the first released implementation).
    assert fp.fingerprint(MASOURI_EN).simhash == -8174944641232512103
    assert fp.fingerprint(MASOURI_FA).simhash == 1356803227048560469


def test_a_copy_in_legacy_arabic_letters_without_zwnj_is_a_near_duplicate() -> None:
    legacy = MASOURI_FA.replace("ی", "ي").replace("ک", "ك").replace("\u200c", "").replace("۱۴۰۴", "١٤٠٤")
    assert fp.is_near_duplicate(fp.fingerprint(MASOURI_FA * 3), fp.fingerprint(legacy * 3))
    assert fp.distance(fp.fingerprint(MASOURI_FA).simhash, fp.fingerprint(legacy).simhash) == 0


def test_a_copy_with_an_added_paragraph_is_a_near_duplicate_and_another_report_is_not() -> None:
    article = " ".join(f"{MASOURI_EN} Paragraph {n} of the report adds detail number {n}." for n in range(12))
    with_intro = "Editor's note: republished from a partner outlet with permission. " + article
    other = " ".join(f"Nine prisoners were executed in Ghezel Hesar on day {n}, rights groups said." for n in range(12))
    assert fp.is_near_duplicate(fp.fingerprint(article), fp.fingerprint(with_intro))
    assert not fp.is_near_duplicate(fp.fingerprint(article), fp.fingerprint(other))
