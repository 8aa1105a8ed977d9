"""Metric points are unique per run: logging the same (key, step, timestamp, value) again
is a no-op, as in MLflow, so the index over a run's history becomes a unique one.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

POINT = ["job_id", "key", "step", "timestamp", "value", "is_nan"]


def upgrade() -> None:
    # Copies of a point logged before this revision: keep the first of each.
    op.execute(
        sa.text(
            "DELETE FROM metrics WHERE id NOT IN "
            f"(SELECT MIN(id) FROM metrics GROUP BY {', '.join(POINT)})"
        )
    )
    op.drop_index("ix_metrics_job_key_step", table_name="metrics")
    op.create_index("ux_metrics_job_key_point", "metrics", POINT, unique=True)


def downgrade() -> None:
    op.drop_index("ux_metrics_job_key_point", table_name="metrics")
    op.create_index("ix_metrics_job_key_step", "metrics", ["job_id", "key", "step"])
