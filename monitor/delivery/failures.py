"""Which failed sends can never succeed, said in words the operator can act on.

A retry helps a timeout, a refused connection, Telegram's 429 or 5xx, an SMTP 4xx. It cannot help a
chat that does not exist, a bot that was blocked or removed, a revoked token, an SMTP 5xx (a refused
address, a failed login) or a message Telegram cannot parse (a bug on our side): retrying those only
burns ``alerts.max_attempts`` over hours while the operator learns nothing. The dispatcher marks a
permanent failure dead at once and raises one operator alert for the channel.

Input is what Apprise logged about the send (its only account of the HTTP status or SMTP reply),
already scrubbed of secrets. Anything not recognised is transient: retrying is the safe default.
Each channel kind judges its own answers (``Channel.classify``: the rule tables live with the kind).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.delivery.channels import CHANNELS, TRANSIENT, Channel, Verdict

# The kinds that recognise permanent failures (the others leave every failure to retries).
CLASSIFIERS: dict[str, type[Channel]] = {
    kind: channel for kind, channel in CHANNELS.items() if channel.classify is not Channel.classify
}


def classify(kind: str, messages: Sequence[str]) -> Verdict:
    """The verdict on one failed send of a ``kind`` channel, from what Apprise logged about it."""
    channel = CHANNELS.get(kind)
    return channel().classify(messages) if channel is not None else TRANSIENT
