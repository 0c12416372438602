"""dashboard: the review queue, record history by record id, and the record index's linked flag and search text

Revision ID: 0002_dashboard
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002_dashboard'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('side', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('record_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('left_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('right_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection', 'kind', 'side', 'record_id', 'field', name='uq_review_item')
    )
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.create_index('ix_review_queue', ['connection', 'kind', 'status', 'id'], unique=False)
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.create_index('ix_run_events_record', ['record_id', 'id'], unique=False)
    with op.batch_alter_table('seen_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('search', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index('ix_seen_linked', ['connection', 'linked', 'side', 'record_id'], unique=False)
        batch_op.create_index('ix_seen_search', ['connection', 'search', 'side', 'record_id'], unique=False)
    _backfill(op.get_bind())


def _backfill(bind: sa.engine.Connection) -> None:
    """Existing records: linked when a link holds them; search text from their fields."""
    from engine.state.links import search_text

    bind.execute(sa.text(
        "UPDATE seen_records SET linked = EXISTS (SELECT 1 FROM links l WHERE l.connection = seen_records.connection"
        " AND ((seen_records.side = 'left' AND l.left_id = seen_records.record_id)"
        " OR (seen_records.side = 'right' AND l.right_id = seen_records.record_id)))"
    ))
    rows = bind.execute(sa.text("SELECT connection, side, record_id, fields FROM seen_records")).all()
    updates = []
    for connection, side, record_id, fields in rows:
        data = json.loads(fields) if isinstance(fields, str) else (fields or {})
        updates.append({"c": connection, "s": side, "r": record_id, "t": search_text(data)})
    for start in range(0, len(updates), 5000):
        bind.execute(
            sa.text("UPDATE seen_records SET search = :t WHERE connection = :c AND side = :s AND record_id = :r"),
            updates[start : start + 5000],
        )


def downgrade() -> None:
    with op.batch_alter_table('seen_records', schema=None) as batch_op:
        batch_op.drop_index('ix_seen_search')
        batch_op.drop_index('ix_seen_linked')
        batch_op.drop_column('search')
        batch_op.drop_column('linked')
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.drop_index('ix_run_events_record')
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_index('ix_review_queue')
    op.drop_table('review_items')
