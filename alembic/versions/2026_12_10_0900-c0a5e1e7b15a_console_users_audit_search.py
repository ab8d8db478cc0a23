"""console: users, API and feed tokens, web sessions, audit log, saved filters, full-text search documents

The search index itself is not a model: on SQLite an FTS5 table over ``search_docs`` kept in step by
triggers, on PostgreSQL a GIN index on ``to_tsvector('simple', body)``. alembic/env.py leaves both out of
autogenerate (``storage.search_repo.UNMODELLED``).

Revision ID: c0a5e1e7b15a
Revises: 7c1e5a9d2b40
Create Date: 2026-12-10 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = 'c0a5e1e7b15a'
down_revision: str | None = '7c1e5a9d2b40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = storage.models.UTCDateTime

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_docs', content_rowid='item_id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_docs BEGIN "
    "INSERT INTO search_fts(rowid, body) VALUES (new.item_id, new.body); END",
    "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.item_id, old.body); END",
    "CREATE TRIGGER search_fts_update AFTER UPDATE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.item_id, old.body); "
    "INSERT INTO search_fts(rowid, body) VALUES (new.item_id, new.body); END",
]


def upgrade() -> None:
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=True),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('password_changed_at', UTC(timezone=True), nullable=True),
        sa.Column('disabled_at', UTC(timezone=True), nullable=True),
        sa.Column('last_login_at', UTC(timezone=True), nullable=True),
        sa.Column('seen_alert_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('name', name=op.f('uq_users_name')),
    )
    op.create_table(
        'saved_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.JSON(), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_filters_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filters')),
        sa.UniqueConstraint('user_id', 'name', name=op.f('uq_saved_filters_user_id_name')),
    )
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_filters_user_id'), ['user_id'], unique=False)
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('filter_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('last_used_at', UTC(timezone=True), nullable=True),
        sa.Column('revoked_at', UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['filter_id'], ['saved_filters.id'],
                                name=op.f('fk_api_tokens_filter_id_saved_filters'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
    op.create_table(
        'web_sessions',
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTC(timezone=True), nullable=False),
        sa.Column('expires_at', UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_web_sessions')),
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTC(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=120), nullable=False),
        sa.Column('action', sa.String(length=50), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=300), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
    op.create_table(
        'search_docs',
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_search_docs_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('item_id', name=op.f('pk_search_docs')),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute("CREATE INDEX ix_search_docs_fts ON search_docs USING gin (to_tsvector('simple', body))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("search_fts_insert", "search_fts_delete", "search_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_search_docs_fts")
    op.drop_table('search_docs')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_alert_id'))
    op.drop_table('audit_log')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))
    op.drop_table('web_sessions')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
    op.drop_table('api_tokens')
    with op.batch_alter_table('saved_filters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_filters_user_id'))
    op.drop_table('saved_filters')
    op.drop_table('users')
