"""Typed SQLAlchemy 2.0 models. Alembic owns the schema (``alembic/versions``); never ``create_all`` in production.

Timestamps are timezone-aware UTC. Every constraint is named through ``NAMING_CONVENTION`` so migrations stay
reproducible on SQLite (batch mode) and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC, always return aware datetimes (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A configured source and its health. The config file is the truth for settings; this row keeps state."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    consecutive_empty_runs: Mapped[int] = mapped_column(default=0)
    last_item_count: Mapped[int] = mapped_column(default=0)
    health_alerted_at: Mapped[datetime | None]
    # Runs in a row that worked but lost articles (HTTP 404, timeouts, bodies over the size limit, ...),
    # and the last finished run's article failures: {"requested": n, "failed": m, "reasons": {why: count}}.
    consecutive_degraded_runs: Mapped[int] = mapped_column(default=0, server_default="0")
    article_failures: Mapped[dict[str, Any] | None]


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|ok|failed|timeout|killed
    items_seen: Mapped[int] = mapped_column(default=0)
    items_new: Mapped[int] = mapped_column(default=0)
    items_updated: Mapped[int] = mapped_column(default=0)
    pages_fetched: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Snapshot(Base):
    """Raw evidence: the response body exactly as received (zlib/gzip-compressed), with its hash and headers."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body_gzip: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    pruned_at: Mapped[datetime | None]


class Item(Base):
    """One article or post. ``url`` is the canonical URL (unique); text is stored as published."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_pending_match", "matched_version"),
        Index("ix_items_removed", "status", "removed_at"),  # the removal-alert sweep
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(10))
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[int | None] = mapped_column(BigInteger)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    matched_version: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|removed
    removed_at: Mapped[datetime | None]
    removal_reason: Mapped[str | None] = mapped_column(Text)
    recheck_until: Mapped[datetime | None] = mapped_column(index=True)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    # Kind-specific facts kept beside the text: a Telegram post's links and forwarded-from, how a
    # page was decoded, the snapshot of the response that showed the item gone.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    checked_at: Mapped[datetime | None]  # last edit/deletion re-check (crawler.recheck)
    # The ``article_removed`` alert raised for the latest removal (monitor.alerts.removals): set in the alert's own
    # transaction, so a removal with no alert yet is found again after a crash.
    removal_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))

    source: Mapped[Source] = relationship()
    snapshot: Mapped[Snapshot | None] = relationship()
    versions: Mapped[list[ItemVersion]] = relationship(back_populates="item", order_by="ItemVersion.version")


class ItemVersion(Base):
    """An earlier text of an item that was later edited, kept with the diff to the next version."""

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("snapshots.id", ondelete="SET NULL"))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    diff: Mapped[str | None] = mapped_column(Text)

    item: Mapped[Item] = relationship(back_populates="versions")


class Match(Base):
    """A rule that fired on one version of an item, with what it extracted and where."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("item_id", "item_version", "rule_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    item_version: Mapped[int] = mapped_column(default=1)
    rule_id: Mapped[str] = mapped_column(String(100), index=True)
    event_type: Mapped[str] = mapped_column(String(50), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float, default=1.0)
    entities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    spans: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    # Set when the item is a near-copy (same content fingerprint) of an item already in the alert.
    duplicate_of_item_id: Mapped[int | None] = mapped_column(Integer)

    item: Mapped[Item] = relationship()
    alert: Mapped[Alert | None] = relationship(back_populates="matches")


class Alert(Base):
    """One event about one subject in one time window; many matches (outlets, languages) fold into it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="event")  # event|surge|escalation|operator|removal
    event_type: Mapped[str] = mapped_column(String(50), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str | None] = mapped_column(String(300))
    subject_key: Mapped[str | None] = mapped_column(String(300), index=True)  # normalised, for dedup
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(20), default="new")  # new|updated|acknowledged|dismissed
    revision: Mapped[int] = mapped_column(default=1)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]
    dismiss_reason: Mapped[str | None] = mapped_column(Text)

    matches: Mapped[list[Match]] = relationship(back_populates="alert")
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="alert", order_by="Delivery.id")


class Delivery(Base):
    """The outbox: one row per alert revision and channel, written in the alert's transaction."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "revision"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(100))
    revision: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(20), default="new")  # new|update|digest
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # pending|sending|sent|dead|skipped; held (waits for a digest), overflow (over a rate limit),
    # folded (went out inside a digest or summary: see bundle_id)
    attempts: Mapped[int] = mapped_column(default=0)
    chunks_sent: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    # The digest or rate-limit summary (an Alert of kind digest|overflow) this delivery went out in.
    # No foreign key on purpose: a second path to alerts would make ``alert`` ambiguous.
    bundle_id: Mapped[int | None] = mapped_column(Integer, index=True)

    alert: Mapped[Alert] = relationship(back_populates="deliveries")
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", order_by="DeliveryAttempt.id", cascade="all, delete-orphan",
        passive_deletes=True)


class DeliveryAttempt(Base):
    """One try at sending a delivery: written when the send starts, closed with its outcome.

    An attempt never closed (``outcome`` still ``sending``) is one a crash interrupted.
    """

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(20), default="sending")  # sending|sent|failed|rate_limited
    chunks_before: Mapped[int] = mapped_column(default=0)
    chunks_after: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[float | None] = mapped_column(Float)

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")


class HttpCache(Base):
    """Validators for conditional GET (ETag, Last-Modified) of feeds and listings."""

    __tablename__ = "http_cache"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceState(Base):
    """What the running service publishes for ``tocsin status``: heartbeat, next runs, config errors.

    One row per name (``instance``, ``schedule``, ``config``); the service overwrites them, nothing else writes.
    """

    __tablename__ = "service_state"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- early warning over time (monitor/trends) -------------------------------------------------------


class TrendState(Base):
    """How far each early-warning analysis has got (e.g. the last day a surge series was evaluated).

    Kept so a live run only evaluates the new days (plus a re-check margin for late reports).
    """

    __tablename__ = "trend_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseFile(Base):
    """A watched person's place on the escalation ladder, as of the last analysis."""

    __tablename__ = "case_files"

    person: Mapped[str] = mapped_column(String(300), primary_key=True)
    risk_level: Mapped[str] = mapped_column(String(50), default="none")
    risk_rank: Mapped[int] = mapped_column(default=0, index=True)
    severity: Mapped[str | None] = mapped_column(String(10))
    level_since: Mapped[datetime | None]
    peak_level: Mapped[str] = mapped_column(String(50), default="none")
    first_event_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime | None]
    event_count: Mapped[int] = mapped_column(default=0)
    last_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseEvent(Base):
    """One dated event in a person's case file, however many outlets (and languages) reported it."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(300), index=True)
    event_type: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(10), default="info")
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    last_reported_at: Mapped[datetime]
    item_ids: Mapped[list[Any]] = mapped_column(default=list)
    sources: Mapped[list[Any]] = mapped_column(default=list)  # [{item_id, source_id, url, title, lang, at}]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # places, prisons, courts, charges, count


class WatchlistProposal(Base):
    """A name not on the watchlist that keeps appearing in death-sentence or transfer reports."""

    __tablename__ = "watchlist_proposals"

    name_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    item_ids: Mapped[list[Any]] = mapped_column(default=list)
    source_ids: Mapped[list[Any]] = mapped_column(default=list)
    mentions: Mapped[int] = mapped_column(default=0)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="proposed")  # proposed|accepted|dismissed
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
