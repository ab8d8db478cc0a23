"""How Tocsin words its messages: views in, Telegram HTML chunks or email parts out.

Pure functions, no I/O: the dispatcher renders, then sends each piece with ``monitor.delivery.notify``.
"""

from __future__ import annotations

from monitor.delivery.channels.telegram_html import MAX_CHUNK_UTF16, plain_text, split_telegram_html
from monitor.messages.render import (
    render_digest,
    render_email,
    render_overflow,
    render_telegram,
    render_telegram_digest,
    render_telegram_overflow,
)
from monitor.messages.views import (
    AlertView,
    DigestView,
    EmailParts,
    OverflowView,
    SourceRef,
)

__all__ = [
    "MAX_CHUNK_UTF16",
    "AlertView",
    "DigestView",
    "EmailParts",
    "OverflowView",
    "SourceRef",
    "plain_text",
    "render_digest",
    "render_email",
    "render_overflow",
    "render_telegram",
    "render_telegram_digest",
    "render_telegram_overflow",
    "split_telegram_html",
]
