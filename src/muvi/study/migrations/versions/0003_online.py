"""Online data collection: a study's online options and what a participant
brings beyond the published profile (panel parameters, own questions, screen,
headphone check). Only adds tables.

Revision ID: 0003_online
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_online"
down_revision = "0002_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_online",
        sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), primary_key=True),
        sa.Column("options", sa.Text, nullable=False),
    )
    op.create_table(
        "participant_online",
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participants.id"), primary_key=True),
        sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), nullable=False),
        sa.Column("panel_id", sa.String(128), nullable=True),
        sa.Column("panel", sa.Text, nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("screen_width", sa.Integer, nullable=True),
        sa.Column("screen_height", sa.Integer, nullable=True),
        sa.Column("headphone_expected", sa.Integer, nullable=True),
        sa.Column("headphone_attempts", sa.Integer, nullable=False),
        sa.Column("headphone_passed", sa.Boolean, nullable=True),
        sa.UniqueConstraint("study_id", "panel_id"),
    )
    op.create_index("ix_participant_online_study_id", "participant_online", ["study_id"])


def downgrade() -> None:
    op.drop_table("participant_online")
    op.drop_table("study_online")
