"""The first schema of the study database.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "studies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("invite_token", sa.String(64), nullable=False, unique=True),
        sa.Column("modalities", sa.String(100), nullable=False),
        sa.Column("items_per_participant", sa.Integer, nullable=False),
        sa.Column("excerpt_seconds", sa.Float, nullable=False),
        sa.Column("item_order", sa.Text, nullable=False),
        sa.Column("assign_seed", sa.Integer, nullable=False),
        sa.Column("assign_pointer", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("runners.id"), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("media_id", sa.String(200), nullable=False),
        sa.Column("media_file", sa.String(500), nullable=False),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("quadrant", sa.String(40), nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("study_id", "role", "media_id"),
    )
    op.create_index("ix_items_study_id", "items", ["study_id"])
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.id"), nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("age", sa.Integer, nullable=False),
        sa.Column("gender", sa.String(40), nullable=False),
        sa.Column("country_live_longest", sa.String(8), nullable=False),
        sa.Column("country_musical_enculturation", sa.String(8), nullable=False),
        sa.Column("lyric_language", sa.String(8), nullable=False),
        sa.Column("favorite_genre", sa.String(80), nullable=False),
        sa.Column("years_formal_training", sa.Integer, nullable=False),
        sa.Column("understood", sa.Boolean, nullable=False),
        sa.Column("overlay_pref", sa.String(20), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
    )
    op.create_index("ix_participants_study_id", "participants", ["study_id"])
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("overlaid", sa.Boolean, nullable=True),
        sa.Column("practice", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("seen_previously", sa.Boolean, nullable=True),
        sa.Column("labels", sa.Text, nullable=True),
        sa.Column("completed_at", TZ, nullable=True),
        sa.UniqueConstraint("participant_id", "position"),
    )
    op.create_index("ix_trials_participant_id", "trials", ["participant_id"])
    op.create_table(
        "samples",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("valence", sa.Float, nullable=False),
        sa.Column("arousal", sa.Float, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.UniqueConstraint("trial_id", "seq"),
    )
    op.create_index("ix_samples_trial_id", "samples", ["trial_id"])


def downgrade() -> None:
    for table in (
        "samples",
        "trials",
        "participants",
        "items",
        "studies",
        "runners",
        "app_settings",
    ):
        op.drop_table(table)
