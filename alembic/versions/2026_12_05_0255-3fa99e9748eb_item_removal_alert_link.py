"""item removal alert link: the article_removed alert raised for an item's latest removal

Revision ID: 3fa99e9748eb
Revises: d7a2aa16d0dd
Create Date: 2026-12-05 02:55:27.633530+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3fa99e9748eb'
down_revision: str | None = 'd7a2aa16d0dd'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removal_alert_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_items_removed', ['status', 'removed_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_items_removal_alert_id_alerts'), 'alerts',
                                    ['removal_alert_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_items_removal_alert_id_alerts'), type_='foreignkey')
        batch_op.drop_index('ix_items_removed')
        batch_op.drop_column('removal_alert_id')
