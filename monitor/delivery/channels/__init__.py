"""Channel kinds: one class per kind, registered in ``CHANNELS`` by the ``kind`` name.

A channel's Apprise URL picks its kind by scheme (``tgram://`` is Telegram, ``mailtos://`` email);
any other Apprise URL is plain. Adding a kind: a module here with a :class:`Channel` subclass (its
schemes, pace, and the render, check and classify it needs) and one entry below (a test checks every
subclass is registered).
"""

from __future__ import annotations

from monitor.delivery.channels.base import (
    TRANSIENT,
    Channel,
    OutgoingMessage,
    Verdict,
    View,
    scheme_of,
)
from monitor.delivery.channels.email import EmailChannel
from monitor.delivery.channels.plain import PlainChannel
from monitor.delivery.channels.telegram import TelegramChannel

CHANNELS: dict[str, type[Channel]] = {
    channel.kind: channel for channel in (TelegramChannel, EmailChannel, PlainChannel)
}
FALLBACK = PlainChannel  # the kind of every URL whose scheme no other kind owns


def channel_for(url: str) -> Channel:
    """The channel kind behind an Apprise URL."""
    scheme = scheme_of(url)
    kind = next((channel for channel in CHANNELS.values() if scheme in channel.schemes), FALLBACK)
    return kind()


__all__ = [
    "CHANNELS",
    "TRANSIENT",
    "Channel",
    "OutgoingMessage",
    "Verdict",
    "View",
    "channel_for",
    "scheme_of",
]
