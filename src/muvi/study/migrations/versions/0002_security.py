"""Server-side runner sessions and the admin role.

Revision ID: 0002_security
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_security"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("runners") as batch:
        batch.add_column(
            sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "runner_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("runner_id", sa.Integer, sa.ForeignKey("runners.id"), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_index("ix_runner_sessions_runner_id", "runner_sessions", ["runner_id"])


def downgrade() -> None:
    op.drop_index("ix_runner_sessions_runner_id", "runner_sessions")
    op.drop_table("runner_sessions")
    with op.batch_alter_table("runners") as batch:
        batch.drop_column("is_admin")
