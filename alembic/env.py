"""Alembic environment: Tocsin's models are the target; SQLite runs in batch mode with FKs off."""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import create_engine, event, pool

import storage.console_models  # noqa: F401  (the console's tables join Base.metadata)
from storage.models import Base
from storage.search_repo import UNMODELLED

config = context.config
target_metadata = Base.metadata


def _include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Leave out what the migrations make by hand: the full-text index (FTS5 tables, a GIN index)."""
    return not (name and name.startswith(UNMODELLED))


def _url() -> str:
    url = config.attributes.get("tocsin_url") or os.environ.get("TOCSIN_DATABASE_URL")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set TOCSIN_DATABASE_URL or use `tocsin db upgrade`")
    return str(url)


def _configure(connection: Any) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        include_name=_include_name,
    )


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    engine = create_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        # Batch mode copies tables; enforced foreign keys would cascade deletes (alembic batch.rst).
        @event.listens_for(engine, "connect")
        def _fk_off(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys = OFF")

    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
