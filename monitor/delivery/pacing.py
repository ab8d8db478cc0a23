"""How fast to send: one channel's messages spaced at its kind's pace, retries backed off with jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta

from monitor.delivery.channels import CHANNELS

# Seconds between two messages to one channel, by channel kind (Telegram: about one a second per chat).
PACE_SECONDS = {kind: channel.pace for kind, channel in CHANNELS.items() if channel.pace}


def backoff(attempts: int, *, base: timedelta, cap: timedelta, retry_after: float | None = None) -> timedelta:
    """Exponential backoff with jitter: half to all of base*2^(n-1), capped; never under Retry-After."""
    ceiling = min(cap.total_seconds(), base.total_seconds() * (2 ** max(0, attempts - 1)))
    delay = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


class Pacer:
    """Spaces messages to one channel (Telegram: about one a second) and honours a 429's Retry-After.

    Keep one for the life of the process (the service does): a Retry-After then holds the whole channel,
    not only the delivery that got it.
    """

    def __init__(self, intervals: dict[str, float] | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.intervals = PACE_SECONDS if intervals is None else intervals
        self._monotonic, self._sleep = monotonic, sleep
        self._next: dict[str, float] = {}

    def ready_in(self, channel: str) -> float:
        return max(0.0, self._next.get(channel, 0.0) - self._monotonic())

    def wait(self, channel: str) -> None:
        delay = self.ready_in(channel)
        if delay > 0:
            self._sleep(delay)

    def sent(self, channel: str, kind: str) -> None:
        self._next[channel] = self._monotonic() + self.intervals.get(kind, 0.0)

    def hold(self, channel: str, seconds: float) -> None:
        self._next[channel] = max(self._next.get(channel, 0.0), self._monotonic() + seconds)
