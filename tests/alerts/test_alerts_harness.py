"""Shared harness for the alert, routing and dispatch tests (no tests of its own).

A ``World`` is a real config directory loaded with ``load_config``, a real SQLite file migrated to head,
and helpers that store items and fold matches into alerts exactly as ``monitor.alerts.matching`` does (match and
alert in one write transaction). ``ScriptedSender`` stands in for ``notify.send`` where the channel itself
is not under test; ``FakeClock`` drives backoff, leases, quiet hours and digests without sleeping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from config.loader import TocsinConfig, load_config
from monitor.alerts.folding import AlertDecision, fold_match
from monitor.delivery.dispatch import DispatchReport, dispatch_due
from monitor.delivery.notify import SendResult
from monitor.delivery.pacing import Pacer
from storage import migrate
from storage.db import Database
from storage.models import Alert, Delivery, Item, Match, Source

T0 = datetime(2025, 9, 19, 9, 0, tzinfo=UTC)
TG_URL = "tgram://123456789:AAFakeTokenForTestsOnly_abcdefghijk/424242"
MAIL_URL = "mailto://127.0.0.1:2525/?from=tocsin@example.org&to=ops@example.org"


class FakeClock:
    """A settable UTC clock; also serves as the pacer's monotonic clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def monotonic(self) -> float:
        return self.now.timestamp()


@dataclass
class Sent:
    url: str
    title: str
    body: str
    body_format: str
    at: datetime


@dataclass
class ScriptedSender:
    """Accepts every message unless scripted to fail; records what was accepted, in order."""

    clock: FakeClock = field(default_factory=FakeClock)
    sent: list[Sent] = field(default_factory=list)
    calls: int = 0
    _script: list[SendResult] = field(default_factory=list)

    def fail_next(self, n: int = 1, error: str = "HTTP 502 Bad Gateway") -> None:
        self._script.extend(SendResult(False, error) for _ in range(n))

    def rate_limit_next(self, retry_after: float) -> None:
        self._script.append(SendResult(False, "Too Many Requests", retry_after))

    def __call__(self, url: str, *, title: str, body: str, body_format: str) -> SendResult:
        self.calls += 1
        if self._script:
            return self._script.pop(0)
        self.sent.append(Sent(url, title, body, body_format, self.clock.now))
        return SendResult(True)

    def bodies(self) -> list[str]:
        return [s.body for s in self.sent]


def write_settings(directory: Path, settings: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    base = {"data_dir": str(directory.parent / "data"),
            "database_url": f"sqlite:///{directory.parent / 'tocsin.db'}"}
    (directory / "settings.yaml").write_text(yaml.safe_dump({**base, **settings}, allow_unicode=True),
                                             encoding="utf-8")
    return directory


DEFAULT_CHANNELS: dict[str, Any] = {
    "tg": {"url": TG_URL, "min_severity": "warning"},
    "mail": {"url": MAIL_URL, "min_severity": "info", "updates": False},
}


class World:
    def __init__(self, directory: Path, settings: dict[str, Any]) -> None:
        self.directory = write_settings(directory, settings)
        self.config: TocsinConfig = load_config(directory)
        self.database = Database(self.config.database_url)
        migrate.upgrade(self.database)
        self.clock = FakeClock()
        self.sender = ScriptedSender(self.clock)
        # The pacer's waits advance the fake clock, as sleeping would advance the real one.
        self.pacer = Pacer({}, monotonic=self.clock.monotonic, sleep=self.clock.sleep)
        self._n = 0

    def reconfigure(self, settings: dict[str, Any]) -> None:
        write_settings(self.directory, settings)
        self.config = load_config(self.directory)

    def source(self, source_id: str, *, name: str | None = None, tags: tuple[str, ...] = ()) -> str:
        with self.database.write() as session:
            if session.get(Source, source_id) is None:
                session.add(Source(id=source_id, kind="feed", name=name or source_id.upper(),
                                   url=f"https://{source_id}.example.org/feed", tags=list(tags)))
        return source_id

    def report(
        self,
        source_id: str,
        *,
        event: str = "transfer",
        severity: str = "warning",
        persons: tuple[str, ...] = (),
        title: str = "",
        text: str = "",
        lang: str = "en",
        rule: str = "transfer.rule",
        published_at: datetime | None = None,
        entities: dict[str, object] | None = None,
        url: str | None = None,
        spans: list[list[object]] | None = None,
    ) -> AlertDecision:
        """Store an article and fold one rule match on it, in one transaction (like processing)."""
        self._n += 1
        self.source(source_id)
        title = title or f"Report {self._n}"
        text = text or f"Article number {self._n} from {source_id} with its own distinct wording {self._n}."
        with self.database.write() as session:
            item = Item(source_id=source_id, url=url or f"https://{source_id}.example.org/a/{self._n}",
                        title=title, text=text, lang=lang, published_at=published_at or self.clock.now,
                        fetched_at=self.clock.now,
                        content_sha256=hashlib.sha256(f"{title}\n{text}".encode()).hexdigest())
            session.add(item)
            session.flush()
            match = Match(item_id=item.id, item_version=1, rule_id=rule, event_type=event, severity=severity,
                          entities=entities if entities is not None else {"persons": list(persons)},
                          spans=spans or [])
            session.add(match)
            session.flush()
            return fold_match(session, match, item, self.config, now=self.clock.now)

    def alerts(self) -> list[Alert]:
        with self.database.read() as session:
            found = list(session.scalars(select(Alert).where(Alert.kind == "event").order_by(Alert.id)))
            session.expunge_all()  # keep the loaded values readable after the read session ends
            return found

    def deliveries(self, *, alert_id: int | None = None, channel: str | None = None) -> list[Delivery]:
        with self.database.read() as session:
            query = select(Delivery).order_by(Delivery.id)
            if alert_id is not None:
                query = query.where(Delivery.alert_id == alert_id)
            if channel is not None:
                query = query.where(Delivery.channel == channel)
            found = list(session.scalars(query))
            session.expunge_all()
            return found

    def dispatch(self, **kwargs: Any) -> DispatchReport:
        return dispatch_due(self.database, self.config, clock=self.clock, sender=kwargs.pop("sender", self.sender),
                            pacer=self.pacer, **kwargs)


def make_world(tmp_path: Path, **settings: Any) -> World:
    settings.setdefault("channels", DEFAULT_CHANNELS)
    return World(tmp_path / "config", settings)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = make_world(tmp_path)
    yield made
    made.database.dispose()
