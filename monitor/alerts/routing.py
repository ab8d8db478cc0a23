"""Which channels get an alert, and when: pure decisions on the channel settings, no I/O.

- *Routing* (when an alert is created or updated): minimum severity, event types, source tags, languages.
- *Gating* (when a delivery is due): quiet hours (critical alerts break through unless the channel says
  otherwise), digests (non-critical alerts wait for the channel's daily digest), rate limits (over the
  limit, alerts wait and go out folded into one summary message).

Times are aware datetimes in UTC; channel clock times are read in the channel's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from config.schema import SEVERITY_RANK, ChannelConfig, QuietHours, RateLimit

CRITICAL = "critical"
BUNDLE_KINDS = frozenset({"digest", "overflow"})  # deliveries that carry many alerts in one message


@dataclass(frozen=True)
class AlertFacts:
    """What routing looks at: the alert, and the source and language of the report that triggered it."""

    severity: str
    event_type: str
    tags: frozenset[str] = frozenset()
    language: str | None = None


def channel_wants(channel: ChannelConfig, facts: AlertFacts) -> bool:
    """The channel's filters: at least ``min_severity``, and the event, a tag and the language listed."""
    if SEVERITY_RANK.get(facts.severity, 0) < SEVERITY_RANK[channel.min_severity]:
        return False
    if channel.events is not None and facts.event_type not in channel.events:
        return False
    if channel.tags is not None and not set(channel.tags) & facts.tags:
        return False
    return channel.languages is None or facts.language in channel.languages


def route(channels: Mapping[str, ChannelConfig], facts: AlertFacts) -> list[str]:
    """Names of the enabled channels that want an alert with these facts."""
    return [name for name, channel in channels.items() if channel.enabled and channel_wants(channel, facts)]


# --- clock times in a channel's time zone ---------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _at(day: datetime, clock: time, zone: ZoneInfo) -> datetime:
    """``clock`` on the local date of ``day`` (already in ``zone``), as an aware local datetime."""
    return datetime.combine(day.date(), clock, tzinfo=zone)


def quiet_zone(channel: ChannelConfig, quiet: QuietHours) -> ZoneInfo:
    return _zone(quiet.timezone or channel.timezone)


def quiet_until(channel: ChannelConfig, now: datetime) -> datetime | None:
    """When the channel's current quiet period ends, or None if it is not quiet now."""
    quiet = channel.quiet_hours
    if quiet is None or quiet.start == quiet.end:
        return None
    zone = quiet_zone(channel, quiet)
    local = now.astimezone(zone)
    clock = local.timetz().replace(tzinfo=None)
    overnight = quiet.start > quiet.end
    inside = (clock >= quiet.start or clock < quiet.end) if overnight else quiet.start <= clock < quiet.end
    if not inside:
        return None
    end = _at(local, quiet.end, zone)
    if end <= local:
        end = _at(local + timedelta(days=1), quiet.end, zone)
    return end.astimezone(now.tzinfo)


def digest_slot(channel: ChannelConfig, now: datetime) -> datetime | None:
    """The latest digest time at or before ``now`` (None when the channel has no digest)."""
    if channel.digest is None:
        return None
    zone = _zone(channel.timezone)
    local = now.astimezone(zone)
    slot = _at(local, channel.digest, zone)
    if slot > local:
        slot = _at(local - timedelta(days=1), channel.digest, zone)
    return slot.astimezone(now.tzinfo)


def previous_digest_slot(channel: ChannelConfig, slot: datetime) -> datetime:
    """The digest time the day before ``slot`` (a digest covers the period between the two)."""
    previous = digest_slot(channel, slot - timedelta(hours=12))
    return previous if previous is not None else slot - timedelta(days=1)


# --- gating a due delivery -------------------------------------------------------------------------


class Action(StrEnum):
    SEND = "send"
    DEFER = "defer"  # stays pending, due again at ``until``; not an attempt
    HOLD = "hold"  # waits for the channel's digest
    SKIP = "skip"  # will never be sent (alert dismissed, channel no longer wants updates)
    DEAD = "dead"  # cannot be sent until the operator fixes the configuration


@dataclass(frozen=True)
class Gate:
    action: Action
    reason: str = ""
    until: datetime | None = None


def gate(
    channel: ChannelConfig | None,
    *,
    channel_name: str,
    delivery_kind: str,
    severity: str,
    alert_state: str,
    now: datetime,
) -> Gate:
    """Decide what to do with a due delivery before any rate limit is counted."""
    if channel is None or not channel.enabled:
        return Gate(Action.DEAD, f"channel {channel_name!r} is not configured or is disabled in "
                                 "settings.yaml (fix it, then `tocsin alerts retry ID`)")
    bundle = delivery_kind in BUNDLE_KINDS
    if not bundle and alert_state == "dismissed":
        return Gate(Action.SKIP, "alert dismissed before it was sent")
    if delivery_kind == "update" and not channel.updates:
        return Gate(Action.SKIP, "channel does not want updates")
    critical = severity == CRITICAL
    if not bundle and channel.digest is not None and not critical:
        return Gate(Action.HOLD, "waits for the daily digest")
    until = quiet_until(channel, now)
    if until is not None and not (critical and channel.quiet_hours and channel.quiet_hours.allow_critical):
        return Gate(Action.DEFER, "quiet hours", until)
    return Gate(Action.SEND)


@dataclass(frozen=True)
class RateCheck:
    allowed: bool
    free_at: datetime | None = None  # when the next message may go, if not allowed now


def rate_check(
    limit: RateLimit | None, sent_at: Iterable[datetime], *, in_flight: int, now: datetime
) -> RateCheck:
    """Whether one more message fits in the channel's limit, given when earlier messages went out."""
    if limit is None:
        return RateCheck(True)
    start = now - limit.per
    recent = sorted(t for t in sent_at if t > start)
    if len(recent) + in_flight < limit.count:
        return RateCheck(True)
    # Room frees up when enough of the recent messages age out of the window.
    excess = len(recent) + in_flight - limit.count
    index = min(excess, len(recent) - 1) if recent else None
    free_at = recent[index] + limit.per if index is not None else now + limit.per
    return RateCheck(False, max(free_at, now + timedelta(seconds=1)))


def most_severe(severities: Sequence[str]) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="info")
