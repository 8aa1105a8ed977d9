"""Tables for experiments, jobs (MLflow runs) and what they log.

Metrics are append-only (job, key, step, timestamp, value); `latest_metrics` keeps the
newest value per key so search and sort never scan the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from orchard.store.tables import Base, utcnow


class ExperimentRow(Base):
    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        UniqueConstraint("workspace_id", "number", name="uq_experiments_workspace_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # MLflow's experiment id within the workspace: "0" is Default.
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    artifact_location: Mapped[str] = mapped_column(Text)
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default="active")
    tags: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRow(Base):
    """A job is an MLflow run: a script submitted to Orchard or a run a client opened."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_experiment", "experiment_id", "lifecycle_stage"),
        Index("ix_jobs_status", "workspace_id", "status"),
        Index("ix_jobs_parent", "parent_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    # The job name is also the MLflow run id.
    name: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(500))
    job_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default="active")
    user_id: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[int | None] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    artifact_uri: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]]
    error: Mapped[dict[str, Any] | None]
    exit_code: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParamRow(Base):
    __tablename__ = "job_params"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TagRow(Base):
    __tablename__ = "job_tags"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MetricRow(Base):
    """One point of a metric's history. As in MLflow, logging the very same point (key,
    step, timestamp, value) again is a no-op: the unique index makes it one."""

    __tablename__ = "metrics"
    __table_args__ = (
        Index(
            "ux_metrics_job_key_point",
            "job_id",
            "key",
            "step",
            "timestamp",
            "value",
            "is_nan",
            unique=True,
        ),
    )
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)


class LatestMetricRow(Base):
    __tablename__ = "latest_metrics"
    __table_args__ = (Index("ix_latest_metrics_key_value", "key", "value"),)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)


class JobIoRow(Base):
    """MLflow dataset inputs, model inputs and outputs of a run, as logged."""

    __tablename__ = "job_io"
    __table_args__ = (Index("ix_job_io_job", "job_id", "direction"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))  # "input" | "output"
    kind: Mapped[str] = mapped_column(String(32))  # "dataset" | "model"
    body: Mapped[dict[str, Any]]


class LoggedModelRow(Base):
    """MLflow 3 logged models."""

    __tablename__ = "logged_models"
    __table_args__ = (Index("ix_logged_models_experiment", "experiment_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[str] = mapped_column(String(64), unique=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    source_run_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    artifact_location: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]]  # params, tags, metrics, model_type
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelAliasRow(Base):
    __tablename__ = "model_aliases"
    container_id: Mapped[int] = mapped_column(
        ForeignKey("asset_containers.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
