"""What a channel kind is: the URL schemes it owns, its pace, and how it renders, checks and judges a send.

A kind is a small class registered in :data:`monitor.delivery.channels.CHANNELS`. The dispatcher and
``notify`` never ask "is this Telegram?": they look the channel up by the URL's scheme and call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from apprise.plugins.base import NotifyBase

from monitor.messages import AlertView, DigestView, OverflowView

View = AlertView | DigestView | OverflowView


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send: for Telegram one chunk (no title: the renderer puts it in the first chunk)."""

    title: str
    body: str
    body_format: str  # text|html|markdown


@dataclass(frozen=True)
class Verdict:
    """``permanent``: retrying cannot help. ``reason``: what is wrong and what to do (when permanent)."""

    permanent: bool
    reason: str | None = None


TRANSIENT = Verdict(False)


def all_permanent(verdicts: list[Verdict]) -> Verdict:
    """A send to several targets is permanent only if each failure was (retrying helps the others)."""
    if not verdicts or not all(v.permanent for v in verdicts):
        return TRANSIENT
    reasons = list(dict.fromkeys(v.reason for v in verdicts if v.reason))
    return Verdict(True, "; ".join(reasons))


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


class Channel:
    """A kind of channel. Subclasses set ``kind`` and ``schemes`` and override what differs."""

    kind: ClassVar[str]
    schemes: ClassVar[frozenset[str]]  # the Apprise URL schemes this kind owns
    pace: ClassVar[float] = 0.0  # seconds to leave between two messages to one channel of this kind

    def render(self, view: View) -> list[OutgoingMessage]:
        """The messages that carry ``view`` (an alert, a digest or a rate-limit summary), in order."""
        raise NotImplementedError

    def check(self, plugin: NotifyBase) -> str | None:
        """Why the configured Apprise plugin cannot work (a check Apprise does not make), or None."""
        return None

    def prepare(self, plugin: NotifyBase) -> None:
        """Adjust the plugin before one send (e.g. the API it talks to); may raise ValueError."""
        return None

    def classify(self, messages: Sequence[str]) -> Verdict:
        """The verdict on a failed send from what Apprise logged about it; unknown means transient."""
        return TRANSIENT
