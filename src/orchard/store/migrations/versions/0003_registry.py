"""Model registry: a registered model's description, tags and last change on its container.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orchard.store.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot alter a table in place; it copies it.
    with op.batch_alter_table("asset_containers") as batch:
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("asset_containers") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("tags")
        batch.drop_column("description")
