"""Split Telegram HTML into messages Telegram accepts.

Telegram counts a message's length in UTF-16 code units of the text *after* entity parsing
(4096 max) and rejects unbalanced or unsupported tags. Splitting raw HTML by characters breaks
both, so the markup is parsed into text runs and tags, cut on text only, and every chunk closes
the tags it opened and reopens them in the next chunk.

Budget: 4000 units per chunk, leaving room under 4096. A newline counts 2 because Apprise 2.3
sends it as CRLF. Cuts prefer a line break, then a space, and never separate a character from
a following combining mark, joiner or variation selector.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

from config.errors import TelegramMarkupError

MAX_CHUNK_UTF16 = 4000
TELEGRAM_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote"})
_JOINERS = frozenset({"\u200c", "\u200d", "\u034f"})  # ZWNJ, ZWJ, CGJ


@dataclass(frozen=True)
class _Open:
    name: str
    attrs: str = ""  # already escaped, with a leading space

    def markup(self) -> str:
        return f"<{self.name}{self.attrs}>"


@dataclass(frozen=True)
class _Close:
    name: str


_Token = str | _Open | _Close


class _Tokenizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[_Token] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            raise TelegramMarkupError(f"<{tag}> is not a Telegram HTML tag")
        values = dict(attrs)
        extra = ""
        if tag == "a":
            href = values.get("href")
            if not href:
                raise TelegramMarkupError("<a> without href")
            extra = f' href="{escape(href, quote=True)}"'
        elif tag == "blockquote" and "expandable" in values:
            extra = " expandable"
        self.stack.append(tag)
        self.tokens.append(_Open(tag, extra))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TelegramMarkupError(f"<{tag}/>: Telegram HTML has no self-closing tags")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise TelegramMarkupError(f"</{tag}> closes nothing open (open: {self.stack})")
        self.stack.pop()
        self.tokens.append(_Close(tag))

    def handle_data(self, data: str) -> None:
        if self.tokens and isinstance(self.tokens[-1], str):
            self.tokens[-1] += data
        elif data:
            self.tokens.append(data)


def _tokenize(html: str) -> list[_Token]:
    parser = _Tokenizer()
    parser.feed(html)
    parser.close()
    if parser.stack:
        raise TelegramMarkupError(f"unclosed tags: {parser.stack}")
    return parser.tokens


def plain_text(html: str) -> str:
    """The text Telegram would show for our markup (tags removed, entities decoded)."""
    return "".join(t for t in _tokenize(html) if isinstance(t, str))


def _cost(char: str) -> int:
    return 2 if char == "\n" or ord(char) > 0xFFFF else 1


def _fitting(text: str, room: int) -> int:
    """How many leading characters of text fit in room units."""
    used = 0
    for index, char in enumerate(text):
        used += _cost(char)
        if used > room:
            return index
    return len(text)


def _clings(char: str) -> bool:
    """True if char belongs with the character before it (so no cut just before it)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char in _JOINERS
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _soft_cut(text: str, limit: int) -> int:
    """A cut index ≤ limit just after a line break (preferred) or space; 0 if none."""
    window = text[:limit]
    newline = window.rfind("\n")
    if newline + 1 >= limit // 2:
        return newline + 1
    space = max(window.rfind(" "), window.rfind("\u00a0"))
    return max(newline, space) + 1


def _hard_cut(text: str, limit: int) -> int:
    cut = limit
    while cut > 1 and (_clings(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut if cut > 1 else limit


class _ChunkWriter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[str] = []
        self.open: list[_Open] = []
        self.parts: list[str] = []
        self.used = 0
        self.has_text = False

    def flush(self) -> None:
        self.parts.extend(f"</{tag.name}>" for tag in reversed(self.open))
        self.chunks.append("".join(self.parts))
        self.parts = [tag.markup() for tag in self.open]
        self.used = 0
        self.has_text = False

    def write(self, text: str) -> None:
        self.parts.append(escape(text, quote=False))
        self.used += sum(_cost(c) for c in text)
        self.has_text = self.has_text or not text.isspace()

    def add_text(self, text: str) -> None:
        while text:
            fits = _fitting(text, self.limit - self.used)
            if fits >= len(text):
                self.write(text)
                return
            cut = _soft_cut(text, fits)
            if cut and not self.has_text and text[:cut].isspace():
                cut = 0  # a chunk of nothing but whitespace would be rejected
            if cut == 0 and self.has_text:
                self.flush()  # start this run in a fresh chunk rather than cut a word
                continue
            if cut == 0:
                cut = _hard_cut(text, max(fits, 1))
            self.write(text[:cut])
            self.flush()
            text = text[cut:]


def split_telegram_html(html: str, *, limit: int = MAX_CHUNK_UTF16) -> list[str]:
    """Split our Telegram HTML into balanced chunks of at most ``limit`` UTF-16 units of text.

    Joining the chunks' plain text gives the plain text of ``html`` exactly.
    """
    writer = _ChunkWriter(limit)
    for token in _tokenize(html):
        if isinstance(token, _Open):
            writer.parts.append(token.markup())
            writer.open.append(token)
        elif isinstance(token, _Close):
            writer.open.pop()
            writer.parts.append(f"</{token.name}>")
        else:
            writer.add_text(token)
    if writer.has_text or not writer.chunks:
        writer.flush()
    elif any(not p.startswith("<") for p in writer.parts):
        writer.chunks[-1] += "".join(p for p in writer.parts if not p.startswith("<"))
    return writer.chunks
