"""one head again: the second-round revisions, made side by side, joined

Revision ID: 0003_merge
Revises: 0002_perf2, 0002_newuser, 0002_realaccounts, 0002_dashboard
Create Date: 2026-12-01
"""

from __future__ import annotations

revision = "0003_merge"
down_revision = ("0002_perf2", "0002_newuser", "0002_realaccounts", "0002_dashboard")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
