"""Which language a text is in, guessed cheaply from its script and its commonest words (no model)."""

from __future__ import annotations

import re

_LETTER = re.compile(r"[^\W\d_]")
_ARABIC_LETTER = re.compile(
    r"[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc]"
)
_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_PERSIAN_LETTER = re.compile("[پچژگیک]")
_URDU_LETTER = re.compile("[ٹڈڑںےۓ]")
# The commonest English words make up about a quarter of running text; Spanish or French, under 3%.
_ENGLISH_COMMON = (
    "the of and to in is that for it was on with as be by at he his are from this have has an not"
)
_ENGLISH_COMMON_WORDS = frozenset(_ENGLISH_COMMON.split())
_LATIN_WORD = re.compile(r"[a-z]+")


def guess_language(text: str) -> str | None:
    """Cheap script-based guess: Arabic script -> fa (Persian letters), ur, else ar; Latin text
    -> en when common English words are frequent; anything else (Spanish, Chinese...) -> None."""
    sample = text[:5000]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return None
    arabic = len(_ARABIC_LETTER.findall(sample))
    if arabic * 2 >= letters:
        urdu = len(_URDU_LETTER.findall(sample))
        persian = len(_PERSIAN_LETTER.findall(sample))
        if urdu >= 2 and urdu * 200 >= arabic:
            return "ur"
        if persian >= 2 and persian * 300 >= arabic:
            return "fa"
        return "ar"
    if len(_LATIN_LETTER.findall(sample)) * 2 < letters:
        return None
    words = _LATIN_WORD.findall(sample.lower())
    common = sum(word in _ENGLISH_COMMON_WORDS for word in words)
    return "en" if words and common * 100 >= len(words) * 8 else None
