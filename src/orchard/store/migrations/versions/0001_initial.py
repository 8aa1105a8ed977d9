"""Workspaces, versioned assets, named resources and secrets.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orchard.store.tables import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=True),
    ]


def _workspace_fk() -> sa.Column[int]:
    return sa.Column(
        "workspace_id",
        sa.Integer(),
        sa.ForeignKey("workspaces.id", ondelete="CASCADE", name=None),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("name", name="uq_workspaces_name"),
    )
    op.create_table(
        "asset_containers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _workspace_fk(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id", "kind", "name", name="uq_asset_containers_workspace_id"
        ),
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _workspace_fk(),
        sa.Column(
            "container_id",
            sa.Integer(),
            sa.ForeignKey("asset_containers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("stage", sa.String(64), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("container_id", "version", name="uq_assets_container_id"),
    )
    op.create_index("ix_assets_workspace_kind", "assets", ["workspace_id", "kind"])
    op.create_table(
        "resources",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _workspace_fk(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("workspace_id", "kind", "name", name="uq_resources_workspace_id"),
    )
    op.create_table(
        "secrets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _workspace_fk(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_secrets_workspace_id"),
    )


def downgrade() -> None:
    for table in ("secrets", "resources", "assets", "asset_containers", "workspaces"):
        op.drop_table(table)
