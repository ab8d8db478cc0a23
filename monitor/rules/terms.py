"""Literal terms: what goes into the automaton, and which Persian affixes a hit may carry.

Word boundaries (no ``\\b``: it is ASCII-only in RE2 and treats ZWNJ as a boundary in Python
``re``):

- a hit must not start or end inside a word; "word characters" are letters and digits of any script;
- a Persian term may be preceded, in the same word, by the verb prefixes ``می`` / ``نمی`` (میشود);
- a Persian term may be followed, in the same word, by one suffix from ``PERSIAN_SUFFIXES`` (plural
  ها/ان, ezafe/indefinite ی, possessive and verb endings, تر/ترین); زندانیان matches زندانی,
  اعدامها matches اعدام;
- English and other Latin-script terms take no implicit suffixes: write ``execut*`` or list the
  forms;
- a trailing ``*`` accepts any continuation of the last word in either script;
- a leading ``=`` asks for the whole word only, without affixes (``=زن`` finds زن, not زنان).

Variants (added to the automaton, so they cost nothing at match time): a Persian word written with a
ZWNJ or a space after می/نمی or before ها/های is also looked for joined, and a joined one
apart.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from monitor.rules.normalize import ZWNJ, normalize_pattern

VERB_PREFIXES: frozenset[str] = frozenset({"می", "نمی"})
_PLURALS = ("", "ها", "های", "هایی", "ان", "یان", "ات")
_ENDINGS = (
    "",
    "ی",
    "یی",
    "ای",
    "م",
    "ت",
    "ش",
    "مان",
    "تان",
    "شان",
    "ام",
    "اش",
    "یم",
    "ید",
    "ند",
    "یش",
    "یشان",
    "ه",
    "ن",
    "د",
    "تر",
    "ترین",
    "یت",
)
PERSIAN_SUFFIXES: frozenset[str] = frozenset(
    plural + ending for plural, ending in itertools.product(_PLURALS, _ENDINGS)
) - {""}
MAX_SUFFIX = max(len(suffix) for suffix in PERSIAN_SUFFIXES)
_DETACHED_PLURALS = ("هایی", "های", "ها")
_MAX_VARIANTS = 16


def is_persian_letter(char: str) -> bool:
    return "\u0620" <= char <= "\u06ff" and char.isalpha()


@dataclass(frozen=True, slots=True)
class Literal:
    """One thing to look for: a normalised key, and whether its last word may continue (``*``)."""

    key: str
    prefix: bool = False


def literal_keys(raw: str) -> list[str]:
    """The normalised keys for a raw term or alias, variants included, the plain form first.

    ``-`` and ZWNJ in the raw text mark places where the word may also be written joined
    (Etemadi-Far: "etemadi far" and "etemadifar"; قزل‌حصار: "قزل حصار" and "قزلحصار").
    """
    base = normalize_pattern(raw)
    if not base:
        return []
    keys = [base]
    joinable = list(_joinable_pairs(raw))
    for joined in joinable:
        if joined != base and joined not in keys:
            keys.append(joined)
    for key in list(keys):
        for variant in persian_affix_variants(key):
            if variant not in keys:
                keys.append(variant)
    return keys[:_MAX_VARIANTS]


def _joinable_pairs(raw: str) -> list[str]:
    """Forms of ``raw`` with each hyphen or ZWNJ (and all together) removed, not spaced."""
    marks = [index for index, char in enumerate(raw) if char in ("-", ZWNJ, "\u2010", "\u2011")]
    if not marks:
        return []
    out: list[str] = []
    for chosen in [*([m] for m in marks), marks]:
        joined = "".join(char for index, char in enumerate(raw) if index not in chosen)
        key = normalize_pattern(joined)
        if key and key not in out:
            out.append(key)
    return out


def persian_affix_variants(key: str) -> list[str]:
    """Joined/apart forms for verb prefixes and plural suffixes in a normalised Persian key."""
    words = key.split(" ")
    if not any(is_persian_letter(char) for char in key):
        return []
    options: list[list[str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in VERB_PREFIXES and following and is_persian_letter(following[0]):
            options.append([f"{word} {following}", f"{word}{following}"])
            index += 2
            continue
        choices = [word]
        for prefix in ("نمی", "می"):
            rest = word[len(prefix) :]
            if word.startswith(prefix) and len(rest) >= 2 and is_persian_letter(rest[0]):
                choices.append(f"{prefix} {rest}")
                break
        for plural in _DETACHED_PLURALS:
            stem = word[: -len(plural)]
            if word.endswith(plural) and len(stem) >= 2:
                choices.extend(f"{choice[: -len(plural)]} {plural}" for choice in list(choices))
                break
        if following in _DETACHED_PLURALS and len(word) >= 2:
            choices = [f"{word} {following}", f"{word}{following}"]
            index += 1
        options.append(choices)
        index += 1
    variants = [
        " ".join(combo) for combo in itertools.islice(itertools.product(*options), _MAX_VARIANTS)
    ]
    return [variant for variant in variants if variant != key]
