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


@dataclass(frozen=True)
class _Tables:
    ascii_singles: re.Pattern[str]  # special characters a pure-ASCII text can contain
    bmp_singles: re.Pattern[str]  # ... a BMP text can contain
    all_singles: re.Pattern[str]  # ... any text can contain (astral classes make ``re`` 6x slower)
    replacements: dict[str, str]  # special character -> its normalised form
    run_chars: frozenset[str]  # separators and bidi marks, which collapse together
    one_to_one: frozenset[str]  # specials replaced by exactly one character (digits, letters)
    one_to_one_table: dict[int, str]  # str.translate table for those


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    """Build the special-character regexes and the replacement table once (about 0.1 s).

    The regexes never include the plain space: trying a match at every space costs more than the
    rest of normalisation. Double spaces are found with ``str.find`` instead.
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
    singles = sorted((space_like - {" "}) | set(replacements) | set(_BIDI))
    return _Tables(
        ascii_singles=re.compile(f"[{_class(''.join(ch for ch in singles if ch.isascii()))}]"),
        bmp_singles=re.compile(f"[{_class(''.join(ch for ch in singles if ord(ch) <= 0xFFFF))}]"),
        all_singles=re.compile(f"[{_class(''.join(singles))}]"),
        replacements=replacements,
        run_chars=frozenset(space_like | set(_BIDI)),
        one_to_one=frozenset(char for char, folded in replacements.items() if len(folded) == 1),
        one_to_one_table={ord(c): f for c, f in replacements.items() if len(f) == 1},
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


def _events(text: str, tables: _Tables) -> list[int]:
    """Positions where normalisation may change something, in order."""
    if text.isascii() and _plain_ascii(text):
        events = []  # only tabs, line breaks, hyphens and backticks to change: find them in C
        for char in _ASCII_SPECIALS:
            index = text.find(char)
            while index >= 0:
                events.append(index)
                index = text.find(char, index + 1)
    else:
        if text.isascii():
            singles = tables.ascii_singles
        elif _ASTRAL.search(text):
            singles = tables.all_singles
        else:
            singles = tables.bmp_singles
        events = [found.start() for found in singles.finditer(text)]
    for needle in ("  ", " \u06cc"):  # double spaces; an ezafe written after a space
        index = text.find(needle)
        while index >= 0:
            events.append(index)
            index = text.find(needle, index + 2)
    events.sort()
    return events


_ASCII_SPECIALS = "\t\n\r-`"
# Frequent one-to-one replacements done with str.replace before looking for the rest.
_FREQUENT = ((ZWNJ, " "), ("\u064a", "\u06cc"), ("\u0643", "\u06a9"), ("\u00a0", " "))


def _plain_ascii(text: str) -> bool:
    """Whether ASCII ``text`` has no control characters besides tabs and line breaks (a regex
    class scan costs ten times more than these C string methods)."""
    return text.replace("\n", " ").replace("\t", " ").replace("\r", " ").isprintable()


def _is_ezafe(text: str, start: int, end: int) -> bool:
    """Whether the separator ``text[start:end]`` sits in ـه‌ی / ـه ی at the end of a word."""
    return (
        end - start == 1
        and start > 0
        and text[start - 1] == "\u0647"
        and end < len(text)
        and text[end] in "\u06cc\u064a"
        and (end + 1 == len(text) or not text[end + 1].isalnum())
    )


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` for matching; see the module docstring for what changes."""
    tables = _tables()
    run_chars, replacements, one_to_one = tables.run_chars, tables.replacements, tables.one_to_one
    raw = text
    for char, folded in _FREQUENT:  # one C pass each; the event loop then skips them
        if char in text:
            text = text.replace(char, folded)
    pieces: list[str] = []
    anchors: list[tuple[int, int, bool]] = []
    breaks: list[int] = []
    position = 0  # raw index up to which the text is handled
    shift = 0  # normalised index minus raw index
    size = len(text)
    for event in _events(text, tables):
        if event < position:
            continue  # inside a run already handled
        char = text[event]
        if char in run_chars:
            start, end = event, event + 1
            while start > position and text[start - 1] in run_chars:
                start -= 1
            while end < size and text[end] in run_chars:
                end += 1
            if _is_ezafe(text, start, end) and text[start] == " ":
                end += 1
                replacement = ""
            elif text[start:end] == " ":
                continue  # an ordinary space (found while looking for an ezafe)
            else:
                has_space = bool(text[start:end].strip(_BIDI))
                replacement = " " if has_space else ""
                if has_space and not _VERTICAL_SET.isdisjoint(text[start:end]):
                    breaks.append(start + shift)
        elif char in one_to_one:  # a run of digits or letter variants: one translate call
            start, end = event, event + 1
            while end < size and text[end] in one_to_one:
                end += 1
            replacement = text[start:end].translate(tables.one_to_one_table)
        else:
            start, end = event, event + 1
            replacement = replacements.get(char, char)
        if start > position:
            pieces.append(text[position:start])
        pieces.append(replacement)
        if len(replacement) != end - start:
            anchors.append((start + shift, start, True))
            shift += len(replacement) - (end - start)
            anchors.append((end + shift, end, False))
        position = end
    if not pieces:
        return NormalizedText(text.lower(), raw, (), ())
    pieces.append(text[position:])
    return NormalizedText("".join(pieces).lower(), raw, tuple(anchors), tuple(breaks))


def normalize_pattern(text: str) -> str:
    """The normalised form of a pattern (a term, phrase or alias), without outer spaces."""
    return normalize(text).text.strip()


def is_persian_script(text: str) -> bool:
    """Whether ``text`` contains Arabic-script letters (after normalisation: Persian)."""
    return any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" for ch in text)
