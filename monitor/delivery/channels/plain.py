"""Any Apprise URL no other kind owns (a webhook, ``json://``, Matrix, …): the plain-text message."""

from __future__ import annotations

from typing import ClassVar

from monitor.delivery.channels.base import Channel, OutgoingMessage, View
from monitor.messages.render import render_parts


class PlainChannel(Channel):
    """Title and plain text, as the text part of the email would be; Apprise formats it for the service."""

    kind = "plain"
    schemes: ClassVar[frozenset[str]] = frozenset()  # the fallback for every scheme

    def render(self, view: View) -> list[OutgoingMessage]:
        parts = render_parts(view)
        return [OutgoingMessage(parts.subject, parts.text, "text")]
