"""The analyst console's tables: users, their API and feed tokens, web sessions, the audit log, saved
filters, and the full-text search documents of items.

Kept apart from ``models.py`` (same ``Base``, same naming convention) so the console's schema is one
migration of its own. Secrets are never stored: passwords as argon2 hashes, tokens and session ids as
SHA-256 digests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base, utcnow

ROLES = ("viewer", "analyst", "admin")  # each may do what the ones before it may


class User(Base):
    """A person who logs in to the console (or uses the API with a token)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # viewer|analyst|admin
    password_hash: Mapped[str | None] = mapped_column(Text)  # argon2; None: API tokens only
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # "New since I last looked": the newest alert id the person had seen when they last marked the queue seen.
    seen_alert_id: Mapped[int] = mapped_column(default=0)
    seen_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                  passive_deletes=True)


class ApiToken(Base):
    """A bearer token (``scope`` ``api``) or a feed token (``feed``, bound to one saved filter); hash only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20), default="api")  # api|feed
    filter_id: Mapped[int | None] = mapped_column(ForeignKey("saved_filters.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class WebSession(Base):
    """A logged-in browser: the cookie holds a random id, this row its digest and the CSRF token."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """One state change: who did what to which alert or user, and when (the alert page shows them)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))  # a user name, or cli:<os user>
    action: Mapped[str] = mapped_column(String(50))  # alert.acknowledge, alert.dismiss, user.add, ...
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: the log outlives what it names
    target: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SavedFilter(Base):
    """A named set of queue facets (``query``: facet -> value), with an Atom feed of its alerts."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchDoc(Base):
    """An item's title and text as the rules normalise them, indexed for full-text search.

    SQLite indexes ``body`` in the FTS5 table ``search_fts`` (kept in step by triggers); PostgreSQL in the
    GIN index ``ix_search_docs_fts`` on ``to_tsvector('simple', body)``. Both are made by the migration.
    """

    __tablename__ = "search_docs"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
