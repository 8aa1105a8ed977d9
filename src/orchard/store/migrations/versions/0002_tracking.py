"""Experiments, jobs (MLflow runs), params, tags, metrics, logged models, model aliases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orchard.store.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _fk(column: str, target: str, *, nullable: bool = False, primary: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(target, ondelete="CASCADE"),
        nullable=nullable,
        primary_key=primary,
    )


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _fk("workspace_id", "workspaces.id"),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.Text(), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_experiments_workspace_id"),
        sa.UniqueConstraint("workspace_id", "number", name="uq_experiments_workspace_number"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _fk("workspace_id", "workspaces.id"),
        _fk("experiment_id", "experiments.id"),
        _fk("parent_id", "jobs.id", nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(500), nullable=True),
        sa.Column("job_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("artifact_uri", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_jobs_name"),
    )
    op.create_index("ix_jobs_experiment", "jobs", ["experiment_id", "lifecycle_stage"])
    op.create_index("ix_jobs_status", "jobs", ["workspace_id", "status"])
    op.create_index("ix_jobs_parent", "jobs", ["parent_id"])
    for table, value in (("job_params", sa.Text()), ("job_tags", sa.Text())):
        op.create_table(
            table,
            _fk("job_id", "jobs.id", primary=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", value, nullable=False),
        )
    op.create_table(
        "metrics",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        _fk("job_id", "jobs.id"),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_metrics_job_key_step", "metrics", ["job_id", "key", "step"])
    op.create_table(
        "latest_metrics",
        _fk("job_id", "jobs.id", primary=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_table(
        "job_io",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _fk("job_id", "jobs.id"),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
    )
    op.create_index("ix_job_io_job", "job_io", ["job_id", "direction"])
    op.create_table(
        "logged_models",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.String(64), nullable=False),
        _fk("experiment_id", "experiments.id"),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("source_run_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("artifact_location", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("model_id", name="uq_logged_models_model_id"),
    )
    op.create_index("ix_logged_models_experiment", "logged_models", ["experiment_id"])
    op.create_table(
        "model_aliases",
        _fk("container_id", "asset_containers.id", primary=True),
        sa.Column("alias", sa.String(255), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "model_aliases",
        "logged_models",
        "job_io",
        "latest_metrics",
        "metrics",
        "job_tags",
        "job_params",
        "jobs",
        "experiments",
    ):
        op.drop_table(table)
