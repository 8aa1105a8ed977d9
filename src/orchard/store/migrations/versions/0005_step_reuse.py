"""Pipeline step reuse: the completed step that answers each reuse key.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orchard.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_reuse",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("reuse_key", sa.String(64), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_step_reuse_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_step_reuse_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("workspace_id", "reuse_key", name="pk_step_reuse"),
    )


def downgrade() -> None:
    op.drop_table("step_reuse")
