"""Run Alembic migrations from code: the service upgrades on start, ``tocsin db upgrade`` does it explicitly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from config.errors import DatabaseError
from storage.db import Database

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCRIPT_LOCATION = PROJECT_ROOT / "alembic"


def alembic_config(url: str) -> Config:
    if not (SCRIPT_LOCATION / "env.py").is_file():
        raise DatabaseError(
            f"migration scripts not found at {SCRIPT_LOCATION}; install Tocsin from its source tree "
            "(pip install -e .)"
        )
    cfg = Config(str(PROJECT_ROOT / "alembic.ini")) if (PROJECT_ROOT / "alembic.ini").is_file() else Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["tocsin_url"] = url
    return cfg


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is already there."""
    command.upgrade(alembic_config(database.url), revision)


def downgrade(database: Database, revision: str) -> None:
    command.downgrade(alembic_config(database.url), revision)


def check(database: Database) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(database.url))


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(database: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
