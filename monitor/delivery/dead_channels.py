"""Telling the operator that a channel's deliveries go dead: one operator alert per channel, no storm.

The alert (key ``channel:NAME:dead``) is refreshed, not resent, while it is open; at most one new one per
channel per ``CHANNEL_ALERT_WINDOW``; resolved by the channel's next successful send (the dispatcher calls
:func:`channel_delivers_again`), so the next breakage is news again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.operator import raise_operator_alert, resolve_operator_alert
from storage import alerts_repo as repo
from storage.models import Delivery

log = logging.getLogger(__name__)
CHANNEL_ALERT_WINDOW = timedelta(hours=6)  # at most one new "deliveries go dead" alert per channel per window


def channel_alert_key(channel: str) -> str:
    return f"channel:{channel}:dead"


def report_dead_delivery(session: Session, config: TocsinConfig, delivery: Delivery, reason: str, *,
                         now: datetime) -> bool:
    """One operator alert for a channel whose deliveries go dead (no storm); True when a new one was raised.

    A dead operator alert raises nothing: it would go to the operator channel, which is what failed.
    """
    if delivery.alert.kind == "operator":
        log.error("operator alert %d could not be delivered to %s either: %s", delivery.alert_id,
                  delivery.channel, reason)
        return False
    key = channel_alert_key(delivery.channel)
    latest = repo.latest_operator_alert(session, key)
    is_open = latest is not None and latest.state in ("new", "updated")
    if latest is not None and not is_open and now - latest.first_seen_at < CHANNEL_ALERT_WINDOW:
        log.info("channel %s: operator already alerted at %s; not alerting again before %s", delivery.channel,
                 latest.first_seen_at, latest.first_seen_at + CHANNEL_ALERT_WINDOW)
        return False
    decision = raise_operator_alert(
        session, config, key=key, now=now,
        title=f"Channel {delivery.channel}: alerts are not getting through",
        summary=(f"A message for alert {delivery.alert_id} was given up: {reason}. Fix the channel, then "
                 "re-send what it missed with `tocsin alerts retry ID` (`tocsin alerts list --failed` lists "
                 "them)."),
    )
    return decision.created


def channel_delivers_again(session: Session, channel: str) -> None:
    """A successful send: close the channel's "deliveries go dead" alert, if one is open."""
    if resolve_operator_alert(session, key=channel_alert_key(channel)):
        log.info("channel %s delivers again: its operator alert is resolved", channel)
