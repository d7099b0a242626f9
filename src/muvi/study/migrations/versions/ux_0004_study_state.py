"""A study's running state and target: paused (no new sign-ups) and the
number of participants the runner aims for. Only adds a table.

Revision ID: ux_0004_study_state
Revises: 0003_online
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ux_0004_study_state"
down_revision = "0003_online"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_state",
        sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), primary_key=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target_participants", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("study_state")
