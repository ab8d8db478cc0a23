"""Turn a fetched body into text, distrusting charset labels that decode into garbage.

Persian sites often serve windows-1256 bytes labelled utf-8 (or utf-8 under a cp1256 <meta>);
trusting the label, as Scrapy does, yields U+FFFD or mojibake (docs PITFALLS section 6).
Order of authority: per-source override > BOM > HTTP header > <meta>/XML declaration in the
first 4 KB > detection (charset-normalizer). A label loses when its decoding is dirty and
another candidate (utf-8, then windows-1256, then detection) decodes cleanly. The text is
returned as published: no letter normalisation (ي stays ي), that is the rules engine's job.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer
from charset_normalizer.md import mess_ratio

__all__ = ["DecodedBody", "decode_body", "looks_binary"]

SUSPICIOUS_REPLACEMENT_RATIO = 0.001  # PITFALLS 6: flag pages above 0.1% U+FFFD
MOJIBAKE_THRESHOLD = 0.2  # charset-normalizer's own default "chaos" threshold
META_SCAN_BYTES = 4096
MESS_SAMPLE_CHARS = 64_000
SNIFF_BYTES = 8192
MAX_CONTROL_SHARE = 0.10

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG Encoding Standard aliases whose Python codec differs from the label's literal meaning.
_WHATWG_ALIASES = {
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "x-cp1256": "cp1256",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "utf-16": "utf-8",  # a UTF-16 label on bytes we could read as ASCII is a lie (WHATWG)
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}
_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:\-]+)"""
    rb"""|<\?xml[^>]*?encoding\s*=\s*["']([a-z0-9_.:\-]+)""",
    re.IGNORECASE,
)
_BINARY_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG signature"),
    (b"\xff\xd8\xff", "JPEG signature"),
    (b"GIF87a", "GIF signature"),
    (b"GIF89a", "GIF signature"),
    (b"%PDF-", "PDF signature"),
    (b"PK\x03\x04", "ZIP signature"),
    (b"\x1f\x8b", "gzip signature"),
    (b"BZh", "bzip2 signature"),
    (b"\xfd7zXZ\x00", "xz signature"),
    (b"\x00\x00\x01\x00", "ICO signature"),
    (b"OggS", "Ogg signature"),
    (b"ID3", "MP3 signature"),
    (b"\x7fELF", "ELF signature"),
)
_TEXT_MEDIA_TYPES = frozenset(
    {"application/xml", "application/json", "application/javascript", "application/x-javascript"}
)
_BINARY_MAIN_TYPES = frozenset({"image", "audio", "video", "font", "model"})
# Control bytes that text never contains (tab, LF, FF, CR and ESC excluded: they occur in text).
_CONTROL_BYTES = bytes(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}) + b"\x7f"


@dataclass(frozen=True)
class DecodedBody:
    """A decoded page and how much to trust it.

    `reason` is set whenever the result deserves a log line: the page is suspicious, or a
    declared charset was overruled because it decoded into garbage.
    """

    text: str
    encoding: str
    replacement_ratio: float
    suspicious: bool
    reason: str | None


@dataclass(frozen=True)
class _Attempt:
    text: str
    encoding: str
    replacement_ratio: float
    mojibake: bool

    @property
    def clean(self) -> bool:
        return self.replacement_ratio <= SUSPICIOUS_REPLACEMENT_RATIO and not self.mojibake


def codec_name(label: str | None) -> str | None:
    """Python's canonical codec name for a charset label, None when unknown."""
    if not label:
        return None
    cleaned = label.strip().strip("\"'").lower()
    cleaned = _WHATWG_ALIASES.get(cleaned, cleaned)
    try:
        return codecs.lookup(cleaned).name
    except LookupError:
        return None


def declared_meta_charset(body: bytes) -> str | None:
    """The charset named by a <meta> tag or XML declaration in the first 4 KB, if any.

    Browsers stop looking after 1024 bytes; real pages put long scripts and comments first,
    so we look further.
    """
    match = _META_CHARSET.search(body[:META_SCAN_BYTES])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "replace")
    return label


def _evaluate(text: str, encoding: str) -> _Attempt:
    ratio = text.count("\ufffd") / len(text) if text else 0.0
    sample = text[:MESS_SAMPLE_CHARS]
    mojibake = not sample.isascii() and mess_ratio(sample, MOJIBAKE_THRESHOLD) >= MOJIBAKE_THRESHOLD
    return _Attempt(text, encoding, ratio, mojibake)


def _attempt(body: bytes, encoding: str) -> _Attempt:
    return _evaluate(body.decode(encoding, errors="replace"), encoding)


def _strict_utf8(body: bytes) -> _Attempt | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return _evaluate(text, "utf-8")


def _detected(body: bytes) -> str | None:
    best = charset_normalizer.from_bytes(body).best()
    return codec_name(best.encoding) if best is not None else None


def _describe(attempt: _Attempt) -> str:
    if attempt.replacement_ratio > SUSPICIOUS_REPLACEMENT_RATIO:
        return f"{attempt.replacement_ratio:.1%} U+FFFD"
    return "mojibake"


def _result(attempt: _Attempt, reason: str | None = None) -> DecodedBody:
    suspicious = not attempt.clean
    if suspicious:
        detail = (
            f"{attempt.replacement_ratio:.2%} of characters are U+FFFD (over 0.1%)"
            if attempt.replacement_ratio > SUSPICIOUS_REPLACEMENT_RATIO
            else "text looks like mojibake"
        )
        reason = f"{reason}; {detail}" if reason else detail
    return DecodedBody(attempt.text, attempt.encoding, attempt.replacement_ratio, suspicious, reason)


def _alternatives(body: bytes, tried: set[str], labels: list[str]) -> list[_Attempt]:
    """Other decodings to try once the declared charset failed, in order of likelihood."""
    utf8 = _strict_utf8(body)
    if utf8 is not None:
        return [utf8]
    tried = {*tried, "utf-8"}
    found: list[_Attempt] = []
    for encoding in [*labels, "cp1256"]:
        if encoding not in tried:
            tried.add(encoding)
            found.append(_attempt(body, encoding))
            if found[-1].clean:
                return found
    detected = _detected(body)
    if detected and detected not in tried:
        found.append(_attempt(body, detected))
    return found


def decode_body(body: bytes, *, header_charset: str | None, override: str | None = None) -> DecodedBody:
    """Decode a page body; see the module docstring for the order of authority.

    Raises ValueError when `override` names an unknown encoding (a configuration error).
    """
    if override:
        encoding = codec_name(override)
        if encoding is None:
            raise ValueError(f"unknown encoding override {override!r}")
        return _result(_attempt(body, encoding), f"per-source override {encoding}")

    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return _result(_attempt(body[len(bom) :], encoding))

    declared = [
        (source, name)
        for source, label in (
            ("HTTP header", header_charset),
            ("<meta>", declared_meta_charset(body)),
        )
        if (name := codec_name(label)) is not None
    ]
    if declared:
        source, encoding = declared[0]
        if encoding == "utf-8":
            first = _strict_utf8(body) or _attempt(body, encoding)
        else:
            # Valid UTF-8 with multi-byte sequences is never legacy text by accident.
            utf8 = None if body.isascii() else _strict_utf8(body)
            if utf8 is not None:
                return _result(utf8, f"{source} says {encoding} but the body is valid UTF-8")
            first = _attempt(body, encoding)
        if first.clean:
            return _result(first)
        others = [name for _, name in declared[1:]]
        for alternative in _alternatives(body, {encoding}, others):
            if alternative.clean:
                why = f"{source} charset {encoding} decodes to {_describe(first)}"
                return _result(alternative, f"{why}; decoded as {alternative.encoding}")
        return _result(first, f"{source} charset {encoding} kept, no cleaner candidate")

    utf8 = _strict_utf8(body)
    if utf8 is not None:
        return _result(utf8)
    detected = _detected(body)
    attempts = [_attempt(body, detected)] if detected else []
    if attempts and attempts[0].clean:
        return _result(attempts[0])
    if detected != "cp1256":
        attempts.append(_attempt(body, "cp1256"))
        if attempts[-1].clean:
            return _result(attempts[-1], f"no charset declared, detection said {detected}")
    return _result(attempts[0], "no charset declared and no candidate decodes cleanly")


def looks_binary(body: bytes, content_type: str | None) -> str | None:
    """Why the crawler must skip this body as not text, or None when it may be text."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    main_type, _, subtype = media_type.partition("/")
    if main_type in _BINARY_MAIN_TYPES:
        return f"{media_type} content type"
    is_textual = main_type == "text" or media_type in _TEXT_MEDIA_TYPES or subtype.endswith(("+xml", "+json"))
    if main_type == "application" and not is_textual and subtype not in ("octet-stream", ""):
        return f"{media_type} content type"
    head = body[:SNIFF_BYTES]
    if not head:
        return None
    for signature, name in _BINARY_SIGNATURES:
        if head.startswith(signature):
            return name
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return None  # UTF-16/32 text legitimately contains NUL bytes
    if b"\x00" in head:
        return "NUL bytes"
    control_share = (len(head) - len(head.translate(None, _CONTROL_BYTES))) / len(head)
    if control_share > MAX_CONTROL_SHARE:
        return f"not text: {control_share:.0%} control bytes"
    return None
