"""One normalisation for text and patterns, with a map back to the raw string.

Matching happens on the normalised form; evidence spans are reported in the raw text. What it does:

- NFKC compatibility folding, case folding, and removal of combining marks (Persian harakat, Latin
  accents), tatweel and invisible format characters (ZWJ, soft hyphen, bidi marks);
- Arabic letter forms to Persian: ي/ى to ی, ك to ک, ة/ۀ to ه, أ/إ/آ/ٱ to ا, ؤ to و, ئ to ی;
- digits of every script (Persian ۰-۹, Arabic-Indic ٠-٩, ...) to ASCII, ٬ to "," and ٫ to ".";
- ZWNJ, ZWSP, dashes and every kind of space become one space, and runs of them collapse to one, so
  می‌شود and می شود are the same string (the joined form میشود is handled by term variants, see
  terms.py);
- the Persian ezafe written after a final heh (خانه‌ی, اعاده ی) is dropped, like ۀ;
- line breaks become spaces too, but their positions are kept (``breaks``) for sentence and
  paragraph scopes.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

ZWNJ = "\u200c"
_VERTICAL = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
# Persian letters NFKD + mark stripping does not reach on its own.
_PERSIAN_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي Arabic yeh
        "\u0649": "\u06cc",  # ى alef maksura
        "\u06d2": "\u06cc",  # ے yeh barree
        "\u0643": "\u06a9",  # ك Arabic kaf
        "\u0629": "\u0647",  # ة teh marbuta
        "\u06c1": "\u0647",  # ہ heh goal
        "\u06d5": "\u0647",  # ە ae
        "\u0671": "\u0627",  # ٱ alef wasla
        "\u066c": ",",  # ٬ Arabic thousands separator
        "\u066b": ".",  # ٫ Arabic decimal separator
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "`": "'",
    }
)


def _is_space_like(char: str) -> bool:
    """Characters that separate words: whitespace, ZWNJ and dashes."""
    return char.isspace() or char in (ZWNJ, "\u200b") or unicodedata.category(char) == "Pd"


def _strip_marks(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me"))


def fold_char(char: str) -> str:
    """The normalised form of one character (may be empty or longer than one character)."""
    if _is_space_like(char):
        return " "
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf", "Cc") or char == "\u0640" or char in _BIDI:
        return ""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    folded = unicodedata.normalize("NFKD", char).casefold()
    folded = unicodedata.normalize("NFKC", _strip_marks(unicodedata.normalize("NFKD", folded)))
    folded = folded.translate(_PERSIAN_LETTERS)
    if folded.strip() == "":
        return ""  # spacing forms of marks, e.g. U+FE70
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.decimal(ch, None) is not None else ch
        for ch in folded
    )


def _code_points() -> list[int]:
    # The BMP plus the mathematical alphanumerics used by "fancy font" posts.
    return [*range(0x10000), *range(0x1D400, 0x1D800)]


@lru_cache(maxsize=1)
def _tables() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """Build the special-character regexes and the replacement table once (about 0.1 s).

    Two regexes: one for BMP-only text, one that also knows astral characters; a character class
    with astral members makes Python's ``re`` six times slower, and almost no text needs it.
    """
    space_like = {" ", "\t", "\u200b"} | set(_VERTICAL) | {ZWNJ}
    replacements: dict[str, str] = {"\t": " ", "`": "'"}
    for point in _code_points():
        char = chr(point)
        if 0xD800 <= point <= 0xDFFF:
            continue
        if _is_space_like(char):
            space_like.add(char)
            continue
        folded = fold_char(char)
        if folded != char.lower() or len(char.lower()) != 1:
            replacements[char] = folded
    for char in _VERTICAL:
        replacements.pop(char, None)
    runs = "".join(sorted(space_like | set(_BIDI)))
    singles = sorted((space_like - {" "}) | set(replacements))
    # The ezafe after a final heh, then runs of separators.
    head = f"\u0647[\u200c ][\u06cc\u064a](?!\\w)|[{_class(runs)}]{{2,}}"
    bmp = "".join(ch for ch in singles if ord(ch) <= 0xFFFF)
    return (
        re.compile(f"{head}|[{_class(bmp)}]"),
        re.compile(f"{head}|[{_class(''.join(singles))}]"),
        replacements,
    )


def _class(chars: str) -> str:
    """A regex character class body for ``chars``, with ranges to keep it short."""
    points = sorted({ord(ch) for ch in chars})
    parts: list[str] = []
    start = prev = points[0]
    for point in [*points[1:], -1]:
        if point == prev + 1:
            prev = point
            continue
        parts.append(_escape(start) if start == prev else f"{_escape(start)}-{_escape(prev)}")
        start = prev = point
    return "".join(parts)


def _escape(point: int) -> str:
    return f"\\U{point:08x}" if point > 0xFFFF else f"\\u{point:04x}"


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Normalised text plus where each of its characters came from in ``original``.

    The map is piecewise: ``anchors`` lists ``(normalised index, raw index, fixed)`` wherever a
    replacement changed the length; inside a ``fixed`` piece every character maps to the piece's
    raw start, elsewhere characters map one to one from the anchor on. Building it costs one tuple
    per length change.
    """

    text: str
    original: str
    anchors: tuple[tuple[int, int, bool], ...]
    breaks: tuple[int, ...]  # normalised positions of spaces that replaced a line break

    def original_index(self, index: int) -> int:
        """The raw index of normalised character ``index``."""
        position = bisect_right(self.anchors, (index, _BIG, True)) - 1
        if position < 0:
            return index
        norm, raw, fixed = self.anchors[position]
        return raw if fixed else raw + index - norm

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw span for the normalised span ``[start, end)``."""
        if not self.anchors:
            return start, end
        raw_start = self.original_index(start)
        if end <= start:
            return raw_start, raw_start
        position = bisect_right(self.anchors, (end - 1, _BIG, True)) - 1
        if position >= 0 and self.anchors[position][2]:
            following = (
                self.anchors[position + 1][1]
                if position + 1 < len(self.anchors)
                else len(self.original)
            )
            raw_end = following
        else:
            raw_end = self.original_index(end - 1) + 1
        while raw_end > raw_start + 1 and self.original[raw_end - 1].isspace():
            raw_end -= 1
        return raw_start, max(raw_end, raw_start + 1)

    def is_break(self, index: int) -> bool:
        """Whether the space at normalised ``index`` stands for a line break."""
        position = bisect_right(self.breaks, index) - 1
        return position >= 0 and self.breaks[position] == index


_BIG = 1 << 62
_VERTICAL_SET = frozenset(_VERTICAL)


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` for matching; see the module docstring for what changes."""
    bmp_pattern, full_pattern, replacements = _tables()
    pattern = full_pattern if _ASTRAL.search(text) else bmp_pattern
    pieces: list[str] = []
    anchors: list[tuple[int, int, bool]] = []
    breaks: list[int] = []
    position = 0  # raw
    shift = 0  # normalised index minus raw index
    for found in pattern.finditer(text):
        start, end = found.span()
        chunk = found.group()
        if end - start == 1:
            replacement = replacements.get(chunk, " ")
            if chunk in _VERTICAL:
                breaks.append(start + shift)
        elif chunk[0] == "\u0647" and len(chunk) == 3 and chunk[-1] in "\u06cc\u064a":
            replacement = "\u0647"
        else:  # a run of separators and bidi marks
            has_space = bool(chunk.strip(_BIDI))
            replacement = " " if has_space else ""
            if has_space and not _VERTICAL_SET.isdisjoint(chunk):
                breaks.append(start + shift)
        if start > position:
            pieces.append(text[position:start])
        pieces.append(replacement)
        if len(replacement) != end - start:
            anchors.append((start + shift, start, True))
            shift += len(replacement) - (end - start)
            anchors.append((end + shift, end, False))
        position = end
    if not pieces:
        return NormalizedText(text.lower(), text, (), ())
    pieces.append(text[position:])
    return NormalizedText("".join(pieces).lower(), text, tuple(anchors), tuple(breaks))


def normalize_pattern(text: str) -> str:
    """The normalised form of a pattern (a term, phrase or alias), without outer spaces."""
    return normalize(text).text.strip()


def is_persian_script(text: str) -> bool:
    """Whether ``text`` contains Arabic-script letters (after normalisation: Persian)."""
    return any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" for ch in text)
