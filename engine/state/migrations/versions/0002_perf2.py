"""digests of the seen state and of the merge base, so unchanged rows are not written again

Revision ID: 0002_perf2
Revises: 0002_queue
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_perf2"
down_revision = "0002_queue"  # main already has 0002_queue on 0001: one head
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seen_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest", sa.String(), nullable=True))
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_column("digest")
    with op.batch_alter_table("seen_records", schema=None) as batch_op:
        batch_op.drop_column("digest")
