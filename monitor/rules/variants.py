"""Transliteration variants of Latin-script names: one watchlist entry, every common spelling.

Persian names reach English text in many spellings. For each word of a name the generator applies
the equivalences below (both ways, one or two at a time), then combines the words in both name
orders:

    ou / oo / u      Behrouz, Behrooz, Behruz          gh / q     Ghezel, Qezel
    ee -> i, ei      Saeed, Said, Saeid                 ei / ey    Heidari, Heydari
    aa -> a          Taaleb, Taleb                      v / w      Varisheh, Warisheh
    eh / e (final)   Varisheh, Varishe                  s / ss     Hesar, Hessar; Masoud, Massoud
    any doubled consonant -> single                     Mohammad, Mohamad; Farrokh, Farokh

Hyphens are handled by ``terms.literal_keys`` (Etemadi-Far: apart and joined). Persian-script
aliases are declared, not generated; normalisation already folds their letter variants.
"""

from __future__ import annotations

import itertools
import re

_REWRITES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ou", ("oo", "u")),
    ("oo", ("ou", "u")),
    ("u", ("ou", "oo")),
    ("gh", ("q",)),
    ("q", ("gh",)),
    ("ee", ("i", "ei")),
    ("ei", ("ey", "ee")),
    ("ey", ("ei",)),
    ("aa", ("a",)),
    ("v", ("w",)),
    ("w", ("v",)),
)
# Leftmost-longest, non-overlapping: "behrouz" has one "ou", not an "o" and a "u".
_SOURCES = re.compile(
    "|".join(sorted((re.escape(source) for source, _ in _REWRITES), key=len, reverse=True))
)
_TARGETS = dict(_REWRITES)
_VOWELS = "aeiou"
MAX_PER_WORD = 12
MAX_PER_NAME = 96


def _single_steps(word: str) -> set[str]:
    """Spellings one substitution away from ``word``."""
    out: set[str] = set()
    for match in _SOURCES.finditer(word):
        start, end = match.span()
        if match.group() == "u" and (start == 0 or word[start - 1] in _VOWELS):
            continue  # only a "u" after a consonant stands for ou/oo
        for target in _TARGETS[match.group()]:
            out.add(word[:start] + target + word[end:])
    if word.endswith("eh") and len(word) > 3:
        out.add(word[:-1])
    elif word.endswith("e") and len(word) > 3 and word[-2] not in _VOWELS:
        out.add(word + "h")
    for index in range(1, len(word) - 1):
        char = word[index]
        if char.isalpha() and char not in _VOWELS and word[index + 1] == char:
            out.add(word[:index] + word[index + 1 :])  # Hessar -> Hesar, Mohammad -> Mohamad
        elif char == "s" and word[index - 1] in _VOWELS and word[index + 1] in _VOWELS:
            out.add(word[:index] + "s" + word[index:])  # Hesar -> Hessar, Masoud -> Massoud
    out.discard(word)
    return out


def word_variants(word: str) -> list[str]:
    """``word`` and spellings up to two substitutions away (lowercase ASCII words only)."""
    if not word.isascii() or not word.isalpha() or len(word) < 3:
        return [word]
    seen = [word]
    frontier = [word]
    for _ in range(2):
        following: list[str] = []
        for current in frontier:
            for candidate in sorted(_single_steps(current)):
                if candidate not in seen:
                    seen.append(candidate)
                    following.append(candidate)
        frontier = following
    return seen[:MAX_PER_WORD]


def name_variants(name: str) -> list[str]:
    """Spellings and orders of a normalised Latin name (``"behrouz ehsani"``), itself first."""
    words = name.split(" ")
    if not all(word.isascii() for word in words):
        return [name]
    per_word = [word_variants(word) for word in words]
    spellings = [
        " ".join(combo) for combo in itertools.islice(itertools.product(*per_word), MAX_PER_NAME)
    ]
    out = list(spellings)
    if len(words) >= 2:
        for spelling in spellings:
            given, *family = spelling.split(" ")
            out.append(" ".join([*family, given]))
            out.append(" ".join(family) + ", " + given)
    return list(dict.fromkeys(out))[:MAX_PER_NAME]
