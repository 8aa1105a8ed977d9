"""The statements behind logging to a run, built once per SQL dialect.

Logging is tracking's hot path: one call is one transaction of a few statements, each
run as an executemany on the session's connection (no ORM unit of work), and each built
once here so SQLAlchemy compiles it once and caches it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orchard.store.tables import WorkspaceRow
from orchard.store.tracking_tables import JobRow, LatestMetricRow, MetricRow, ParamRow, TagRow

# A run's id, workspace and stage, by workspace name and run id, in one query.
RUN_KEY = (
    select(JobRow.id, JobRow.workspace_id, JobRow.lifecycle_stage)
    .join(WorkspaceRow, WorkspaceRow.id == JobRow.workspace_id)
    .where(JobRow.name == bindparam("run"), WorkspaceRow.name == bindparam("workspace"))
)


POINT_COLUMNS = ("job_id", "key", "step", "timestamp", "value", "is_nan")


@dataclass(frozen=True)
class RunWrites:
    # History points, as the driver's own SQL: a batch is a thousand rows, and SQLAlchemy's
    # per-row parameter handling would cost more than the insert. A point already there
    # is skipped (the unique index on the point).
    insert_points: str
    upsert_latest: Any  # each key's newest point, moved forward only
    upsert_tags: Any
    insert_params: Any  # params are checked first; a racing identical insert is skipped


@functools.cache
def run_writes(dialect: str, paramstyle: str) -> RunWrites:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    mark = "?" if paramstyle == "qmark" else "%s"
    points = (
        f"INSERT INTO {MetricRow.__tablename__} ({', '.join(POINT_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(POINT_COLUMNS))}) ON CONFLICT DO NOTHING"
    )
    latest = insert(LatestMetricRow)
    newer = (latest.excluded.step > LatestMetricRow.step) | (
        (latest.excluded.step == LatestMetricRow.step)
        & (latest.excluded.timestamp >= LatestMetricRow.timestamp)
    )
    tags = insert(TagRow)
    return RunWrites(
        insert_points=points,
        upsert_latest=latest.on_conflict_do_update(
            index_elements=["job_id", "key"],
            set_={c: latest.excluded[c] for c in ("step", "timestamp", "value", "is_nan")},
            where=newer,
        ),
        upsert_tags=tags.on_conflict_do_update(
            index_elements=["job_id", "key"], set_={"value": tags.excluded.value}
        ),
        insert_params=insert(ParamRow).on_conflict_do_nothing(),
    )
