"""The ``service_state`` rows the running service publishes (heartbeat, next runs) for ``tocsin status``.

Each function takes a Session and never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ServiceState


def write_service_state(session: Session, values: dict[str, dict[str, Any]], *, now: datetime) -> None:
    """Overwrite the named rows (insert the missing ones)."""
    for name, value in values.items():
        row = session.get(ServiceState, name)
        if row is None:
            session.add(ServiceState(name=name, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now


def service_states(session: Session) -> list[ServiceState]:
    return list(session.scalars(select(ServiceState)))
