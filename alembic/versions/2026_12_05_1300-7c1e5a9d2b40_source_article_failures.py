"""source article failures: degraded runs in a row and the last run's article failures by reason

Revision ID: 7c1e5a9d2b40
Revises: 3fa99e9748eb
Create Date: 2026-12-05 13:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '7c1e5a9d2b40'
down_revision: str | None = '3fa99e9748eb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consecutive_degraded_runs', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('article_failures', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('article_failures')
        batch_op.drop_column('consecutive_degraded_runs')
