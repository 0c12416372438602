"""scale-out: shared schedules, run requests waiting for a queued job, the worker of each run

Revision ID: 0002_queue
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002_queue"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("connection", sa.String(), nullable=False),
        sa.Column("schedule", sa.String(), nullable=False),
        sa.Column("next_due", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection"),
    )
    op.create_table(
        "run_requests",
        sa.Column("connection", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("feed", sa.Boolean(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=False),
        sa.Column("named", sa.JSON(), nullable=False),
        sa.Column("first_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection", "status"),
    )
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("worker", sa.String(), nullable=True))
        batch.add_column(sa.Column("queue_wait", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("queue_wait")
        batch.drop_column("worker")
    op.drop_table("run_requests")
    op.drop_table("schedules")
