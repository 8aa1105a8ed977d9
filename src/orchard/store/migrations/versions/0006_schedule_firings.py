"""Schedules: each firing, unique per schedule and time, with the job it created.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orchard.store.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_firings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(255), nullable=False),
        sa.Column("fire_time", UTCDateTime(), nullable=False),
        sa.Column("job_name", sa.String(255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_schedule_firings_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_firings"),
        sa.UniqueConstraint(
            "workspace_id",
            "schedule",
            "fire_time",
            name="uq_schedule_firings_workspace_id",
        ),
    )


def downgrade() -> None:
    op.drop_table("schedule_firings")
