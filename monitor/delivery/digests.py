"""Digests: a channel with a daily ``digest`` time gets its held (non-critical) alerts folded into one message.

The dispatcher folds due digests on every run, and the service's digest job at each channel's time; the
bundle alert and its delivery are written by ``monitor.alerts.outbox.open_bundle``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from config.loader import TocsinConfig
from monitor.alerts.outbox import open_bundle
from monitor.alerts.routing import digest_slot, previous_digest_slot
from storage import alerts_repo as repo
from storage.db import Database
from storage.models import utcnow


def fold_digests(session: Session, config: TocsinConfig, *, now: datetime,
                 channels: list[str] | None = None) -> list[int]:
    """Fold each digest channel's held alerts into one digest once its daily time has passed.

    Idempotent: call it as often as you like (the dispatcher does, every run); a digest covers what
    was held before the latest digest time. Held alerts of a channel that no longer has a digest are
    released to be sent on their own.
    """
    created = []
    for name, channel in config.enabled_channels().items():
        slot = digest_slot(channel, now)
        if slot is None or (channels is not None and name not in channels):
            continue
        held = repo.deliveries_with_status(session, channel=name, status="held", created_before=slot)
        if not held:
            continue
        start = min([previous_digest_slot(channel, slot)] + [d.created_at for d in held])
        n = len({d.alert_id for d in held})
        delivery = open_bundle(session, kind="digest", channel=name, members=held,
                           key=f"digest|{name}|{slot:%Y-%m-%dT%H:%M}", title=f"Digest: {n} alerts",
                           details={"period_start": start.isoformat(), "period_end": slot.isoformat()},
                           now=now)
        created.append(delivery.alert_id)
    for name in repo.channels_with_status(session, "held"):
        configured = config.settings.channels.get(name)
        if configured is None or not configured.enabled or configured.digest is None:
            for delivery in repo.deliveries_with_status(session, channel=name, status="held"):
                delivery.status, delivery.next_attempt_at = "pending", now
    return created


def run_digests(database: Database, config: TocsinConfig, *, now: datetime | None = None,
                channels: list[str] | None = None) -> list[int]:
    """The digest job: build due digests (ids of the digest alerts); the dispatcher then sends them."""
    with database.write() as session:
        return fold_digests(session, config, now=now or utcnow(), channels=channels)
