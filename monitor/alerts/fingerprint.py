"""Content fingerprints: copies and syndicated text about one event fold into one alert, not many.

Two steps, because outlets copy each other with a new headline, an added intro or a trimmed footer:

- a 64-bit SimHash of word 3-shingles, stored on ``Item.fingerprint``, finds candidates cheaply (a few bits
  apart for a copy, about 32 for unrelated text);
- containment of the shingle sets (the share of the shorter text found in the longer one) confirms it, so
  a copy with an extra paragraph still counts while two reports that merely share a phrase do not.

Text is folded first (case, Arabic/Persian letter forms, digits, diacritics, ZWNJ), so a Telegram copy and
the website article compare equal even when one kept the ZWNJs and the other lost them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SHINGLE_WORDS = 3
CANDIDATE_DISTANCE = 12  # SimHash bits; only candidates this close get the exact check
CANDIDATE_DISTANCE_SHORT = 22  # ... for texts under SHORT_TEXT_SHINGLES, whose SimHash is noisier
SHORT_TEXT_SHINGLES = 100
MIN_CONTAINMENT = 0.8  # share of the shorter text's shingles found in the longer one
MIN_SHINGLES = 4  # shorter texts are near-duplicates only when their shingles are identical
_MASK = (1 << 64) - 1
_WORD = re.compile(r"\w+")
# Letter forms folded to one (Arabic yeh/kaf/teh marbuta/alef forms to their Persian or plain letter) and
# joiners dropped. A chain of str.replace runs at hundreds of MB/s; str.translate with a dict at ~30.
_LETTER_FOLDS = (
    ("\u064a", "\u06cc"), ("\u0649", "\u06cc"), ("\u0643", "\u06a9"), ("\u0629", "\u0647"),
    ("\u06c0", "\u0647"), ("\u0623", "\u0627"), ("\u0625", "\u0627"), ("\u0622", "\u0627"),
    ("\u0671", "\u0627"), ("\u200c", ""), ("\u200d", ""), ("\u0640", ""),
)


def _bmp_class(belongs: Callable[[str], bool]) -> re.Pattern[str]:
    """A regex class of the non-ASCII Basic Multilingual Plane characters that ``belongs`` picks, built once.

    Kept to the BMP because sre then tests membership with a bitmap; a class with astral ranges is
    scanned range by range and ran 20x slower. Astral characters take the slow path in :func:`fold`.
    """
    ranges: list[tuple[int, int]] = []
    for code in range(0x80, 0x10000):
        if 0xD800 <= code <= 0xDFFF or not belongs(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    members = "".join(re.escape(chr(first)) if first == last else f"{re.escape(chr(first))}-{re.escape(chr(last))}"
                      for first, last in ranges)
    return re.compile(f"[{members}]+")


_COMBINING = _bmp_class(lambda ch: unicodedata.combining(ch) != 0)
_NON_ASCII_DIGITS = _bmp_class(lambda ch: unicodedata.decimal(ch, None) is not None)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def fold(text: str) -> str:
    """Case, letter forms, joiners, marks and digit scripts folded away (see :func:`words`)."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    for letter, replacement in _LETTER_FOLDS:
        if letter in folded:
            folded = folded.replace(letter, replacement)
    folded = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    folded = _NON_ASCII_DIGITS.sub(_ascii_digits, folded)
    if _ASTRAL.search(folded):  # rare: marks and digits outside the BMP
        folded = "".join(_ascii_digit(ch) for ch in folded if not unicodedata.combining(ch))
    return folded


def words(text: str) -> list[str]:
    """Folded words: the comparison ignores case, letter forms, digit scripts, marks and ZWNJ."""
    return _WORD.findall(fold(text))


def _ascii_digits(match: re.Match[str]) -> str:
    return "".join(_ascii_digit(ch) for ch in match.group())


def _ascii_digit(ch: str) -> str:
    value = unicodedata.decimal(ch, None)
    return ch if value is None else str(value)


def _hash64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")


def shingles(text: str) -> frozenset[int]:
    """Hashed word 3-grams (single words for texts shorter than that)."""
    tokens = words(text)
    if len(tokens) < SHINGLE_WORDS:
        return frozenset(_hash64(token) for token in tokens)
    grams = {" ".join(gram) for gram in zip(*(tokens[k:] for k in range(SHINGLE_WORDS)), strict=False)}
    return frozenset([_hash64(gram) for gram in grams])


def simhash(features: frozenset[int]) -> int:
    """64-bit SimHash as a signed integer (what a BIGINT column holds); 0 for an empty text."""
    if not features:
        return 0
    packed = np.fromiter(features, dtype=np.uint64, count=len(features)).astype(">u8")
    bits = np.unpackbits(packed.view(np.uint8)).reshape(-1, 64)  # most significant bit first
    ones = bits.sum(axis=0, dtype=np.int64)
    value = 0
    for set_bit in ones * 2 > len(features):
        value = value << 1 | int(set_bit)
    return value - (1 << 64) if value >= 1 << 63 else value


def distance(a: int, b: int) -> int:
    """Hamming distance between two stored fingerprints."""
    return ((a ^ b) & _MASK).bit_count()


def containment(a: frozenset[int], b: frozenset[int]) -> float:
    """Share of the smaller set found in the larger one (1.0 for a copy with additions)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def article_text(title: str | None, text: str | None) -> str:
    """What is compared: the body (copies keep it and rewrite the headline); the title if there is no body."""
    body = (text or "").strip()
    return body if len(body.split()) >= SHINGLE_WORDS * MIN_SHINGLES else f"{title or ''}\n{body}"


def candidate_distance(features: int) -> int:
    """How far apart two SimHashes may be and still deserve the exact check: short texts drift more."""
    return CANDIDATE_DISTANCE if features >= SHORT_TEXT_SHINGLES else CANDIDATE_DISTANCE_SHORT


@dataclass(frozen=True)
class Fingerprint:
    simhash: int
    shingles: frozenset[int]


@lru_cache(maxsize=64)  # ~90 KB an entry (the text and its shingle set): ~6 MB at most
def fingerprint(text: str) -> Fingerprint:
    """Fingerprint of one article's title and text (see :func:`article_text`)."""
    features = shingles(text)
    return Fingerprint(simhash(features), features)


def is_near_duplicate(a: Fingerprint, b: Fingerprint) -> bool:
    """True when one text is a copy of the other, give or take a headline, an intro or a footer."""
    if min(len(a.shingles), len(b.shingles)) < MIN_SHINGLES:
        return bool(a.shingles) and a.shingles == b.shingles
    return containment(a.shingles, b.shingles) >= MIN_CONTAINMENT
