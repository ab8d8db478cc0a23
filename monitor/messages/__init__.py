"""How Tocsin words its messages: views in, rendered text out.

Pure functions, no I/O. The channel kinds (``monitor.delivery.channels``) render each view their way (the
Telegram channel splits its HTML into chunks); the dispatcher sends each piece with
``monitor.delivery.notify``.
"""

from __future__ import annotations

from monitor.messages.render import (
    render_digest,
    render_email,
    render_overflow,
    render_parts,
)
from monitor.messages.views import (
    AlertView,
    DigestView,
    EmailParts,
    OverflowView,
    SourceRef,
)

__all__ = [
    "AlertView",
    "DigestView",
    "EmailParts",
    "OverflowView",
    "SourceRef",
    "render_digest",
    "render_email",
    "render_overflow",
    "render_parts",
]
