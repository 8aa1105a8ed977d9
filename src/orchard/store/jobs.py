"""Jobs (MLflow runs) and what they log: params, tags, metrics, inputs and outputs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Text, cast, delete, select
from sqlalchemy.orm import Session

from orchard.entities.tracking import Metric, Param, Tag
from orchard.errors import NotFound, ValidationError
from orchard.store.run_query import RunSearch, search_query
from orchard.store.run_writes import POINT_COLUMNS, RUN_KEY, RunWrites, run_writes
from orchard.store.tables import utcnow
from orchard.store.tracking_tables import (
    JobIoRow,
    JobRow,
    LatestMetricRow,
    MetricRow,
    ParamRow,
    TagRow,
)

P = TypeVar("P", Param, Tag)


class RunFields(NamedTuple):
    """The columns a run's MLflow info is made of, for searches over many runs."""

    id: int
    name: str
    display_name: str | None
    experiment_id: int
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str


RUN_FIELDS = [getattr(JobRow, name) for name in RunFields._fields]


@dataclass(frozen=True)
class RunKey:
    """What logging to a run needs to know of it."""

    id: int
    workspace_id: int
    lifecycle_stage: str


class JobRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: JobRow) -> JobRow:
        self.session.add(row)
        self.session.flush()
        return row

    def row(self, name: str, *, lock: bool = False) -> JobRow:
        query = select(JobRow).where(JobRow.name == name)
        if lock:
            query = query.with_for_update()
        row = self.session.scalar(query)
        if row is None:
            raise NotFound(f"Run with id={name} not found")
        return row

    def run_key(self, workspace: str, name: str) -> RunKey:
        """The run `name` of workspace `workspace`, in one query."""
        found = self.session.execute(RUN_KEY, {"run": name, "workspace": workspace}).first()
        if found is None:
            raise NotFound(f"Run with id={name} not found")
        return RunKey(*found)

    def find(self, name: str) -> JobRow | None:
        return self.session.scalar(select(JobRow).where(JobRow.name == name))

    def search(
        self,
        search: RunSearch,
        *,
        exclude_types: Sequence[str] = (),
        parent_id: int | None = None,
    ) -> list[JobRow]:
        """Runs matching `search`: the children of `parent_id`, or with none the jobs that
        have no parent (a sweep's trials are listed under it), and none of `exclude_types`;
        all in one query, so its limit counts only the rows kept."""
        query = search_query(search).where(JobRow.parent_id == parent_id)
        if exclude_types:
            query = query.where(JobRow.job_type.not_in(list(exclude_types)))
        return list(self.session.scalars(query))

    def search_runs(self, search: RunSearch) -> list[RunFields]:
        """Like `search`, reading only what a run's info needs: no row objects."""
        query = search_query(search).with_only_columns(*RUN_FIELDS, maintain_column_froms=True)
        return [RunFields(*found) for found in self.session.connection().execute(query)]

    def named(self, workspace_id: int, names: Sequence[str]) -> list[JobRow]:
        """The jobs of a workspace with these names (those that exist), in one query."""
        if not names:
            return []
        query = select(JobRow).where(
            JobRow.workspace_id == workspace_id, JobRow.name.in_(list(names))
        )
        return list(self.session.scalars(query))

    def mentioning(self, workspace_id: int, text: str) -> list[JobRow]:
        """The workspace's jobs whose stored spec contains `text`, newest first: one LIKE
        over the JSON's text, a superset the caller narrows by reading the spec."""
        query = select(JobRow).where(
            JobRow.workspace_id == workspace_id,
            cast(JobRow.spec, Text).contains(text, autoescape=True),
        )
        return list(self.session.scalars(query.order_by(JobRow.id.desc())))

    def children(self, parent_id: int) -> list[JobRow]:
        return list(self.session.scalars(select(JobRow).where(JobRow.parent_id == parent_id)))

    def touch(self, row: JobRow) -> None:
        row.updated_at = utcnow()

    # -- params, tags ------------------------------------------------------------------

    def params(self, job_id: int) -> list[Param]:
        return self.params_of([job_id])[job_id]

    def params_of(self, job_ids: Sequence[int]) -> dict[int, list[Param]]:
        return self._pairs_of(ParamRow, Param, job_ids)

    def log_params(self, job_id: int, params: Iterable[Param]) -> None:
        """Params are write-once: logging a different value for a key is an error. The same
        number written another way (`32` and `32.0`) is the same value: a sweep records
        each trial's hyperparameters, and the script may log them again as it parsed them."""
        wanted = {p.key: p.value for p in params}
        if not wanted:
            return
        query = select(ParamRow.key, ParamRow.value).where(
            ParamRow.job_id == job_id, ParamRow.key.in_(list(wanted))
        )
        existing = {key: value for key, value in self.session.execute(query)}
        new = []
        for key, value in wanted.items():
            if key in existing:
                if existing[key] != value and not _same_number(existing[key], value):
                    raise ValidationError(
                        f"Changing param values is not allowed. Param with key='{key}' was "
                        f"already logged with value='{existing[key]}' for run ID='{job_id}'. "
                        f"Attempted logging new value '{value}'."
                    )
                continue
            new.append({"job_id": job_id, "key": key, "value": value})
        if new:
            self._execute(self._writes().insert_params, new)

    def tags(self, job_id: int) -> list[Tag]:
        return self.tags_of([job_id])[job_id]

    def tags_of(self, job_ids: Sequence[int]) -> dict[int, list[Tag]]:
        return self._pairs_of(TagRow, Tag, job_ids)

    def _pairs_of(
        self, table: type[ParamRow] | type[TagRow], shape: type[P], job_ids: Sequence[int]
    ) -> dict[int, list[P]]:
        """Each job's key/value rows of one table (params or tags), in key order."""
        found: dict[int, list[P]] = {job_id: [] for job_id in job_ids}
        rows = self.session.execute(
            select(table.job_id, table.key, table.value)
            .where(table.job_id.in_(list(job_ids)))
            .order_by(table.key)
        )
        for job_id, key, value in rows:
            found[job_id].append(shape(key=key, value=value))
        return found

    def set_tags(self, job_id: int, tags: Iterable[Tag]) -> None:
        rows = {t.key: {"job_id": job_id, "key": t.key, "value": t.value} for t in tags}
        if rows:
            self._execute(self._writes().upsert_tags, list(rows.values()))

    def delete_tag(self, job_id: int, key: str) -> bool:
        deleted = self.session.execute(
            delete(TagRow).where(TagRow.job_id == job_id, TagRow.key == key)
        )
        return bool(getattr(deleted, "rowcount", 0))

    # -- metrics -----------------------------------------------------------------------

    def log_metrics(self, job_id: int, metrics: Sequence[Metric]) -> None:
        """Append to the history and move each key's latest value forward."""
        if not metrics:
            return
        points = [_point_row(job_id, m) for m in metrics]
        writes = self._writes()
        # A point already in the history (same key, step, timestamp and value) is skipped.
        self.session.connection().exec_driver_sql(writes.insert_points, points)
        newest: dict[str, PointRow] = {}
        for point in points:
            best = newest.get(point[1])
            if best is None or point[2:4] >= best[2:4]:  # (step, timestamp)
                newest[point[1]] = point
        latest = [dict(zip(POINT_COLUMNS, point, strict=True)) for point in newest.values()]
        self._execute(writes.upsert_latest, latest)

    def latest_metrics(self, job_ids: Sequence[int]) -> dict[int, list[Metric]]:
        found: dict[int, list[Metric]] = {job_id: [] for job_id in job_ids}
        rows = self.session.execute(
            select(
                LatestMetricRow.job_id,
                LatestMetricRow.key,
                LatestMetricRow.value,
                LatestMetricRow.timestamp,
                LatestMetricRow.step,
                LatestMetricRow.is_nan,
            )
            .where(LatestMetricRow.job_id.in_(list(job_ids)))
            .order_by(LatestMetricRow.key)
        )
        for job_id, key, value, timestamp, step, is_nan in rows:
            found[job_id].append(_point(key, value, timestamp, step, is_nan))
        return found

    def metric_history(
        self,
        job_id: int,
        key: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        run_id: str | None = None,
    ) -> list[Metric]:
        """The points of one metric in step order; each names `run_id` when given."""
        query = (
            select(
                MetricRow.key,
                MetricRow.value,
                MetricRow.timestamp,
                MetricRow.step,
                MetricRow.is_nan,
            )
            .where(MetricRow.job_id == job_id, MetricRow.key == key)
            # The unique index's own order: no sort, however long the history.
            .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.value, MetricRow.is_nan)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            _point(key, value, timestamp, step, is_nan, run_id)
            # On the connection: plain rows, none of the ORM's per-row bookkeeping.
            for key, value, timestamp, step, is_nan in self.session.connection().execute(query)
        ]

    def _writes(self) -> RunWrites:
        dialect = self.session.get_bind().dialect
        return run_writes(dialect.name, str(dialect.paramstyle))

    def _execute(self, statement: Any, rows: list[dict[str, Any]]) -> None:
        # On the connection: an executemany of a cached statement, no ORM bookkeeping.
        self.session.connection().execute(statement, rows)

    # -- inputs and outputs ------------------------------------------------------------

    def add_io(
        self, job_id: int, direction: str, kind: str, bodies: Iterable[dict[str, Any]]
    ) -> None:
        for body in bodies:
            self.session.add(JobIoRow(job_id=job_id, direction=direction, kind=kind, body=body))
        self.session.flush()

    def io(self, job_id: int) -> list[tuple[str, str, dict[str, Any]]]:
        return self.io_of([job_id])[job_id]

    def io_of(self, job_ids: Sequence[int]) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
        """Each job's logged inputs and outputs (direction, kind, body), in logged order."""
        found: dict[int, list[tuple[str, str, dict[str, Any]]]] = {i: [] for i in job_ids}
        rows = self.session.execute(
            select(JobIoRow.job_id, JobIoRow.direction, JobIoRow.kind, JobIoRow.body)
            .where(JobIoRow.job_id.in_(list(job_ids)))
            .order_by(JobIoRow.id)
        )
        for job_id, direction, kind, body in rows:
            found[job_id].append((direction, kind, body))
        return found


# A history point as the insert takes it: the values of POINT_COLUMNS, in that order.
PointRow = tuple[int, str, int, int, float, bool]
_LARGEST = 1.7976931348623157e308


def _point_row(job_id: int, metric: Metric) -> PointRow:
    nan = math.isnan(metric.value)
    # Infinities are stored as the largest finite floats, as MLflow does.
    value = 0.0 if nan else max(min(metric.value, _LARGEST), -_LARGEST)
    return (job_id, metric.key, metric.step, metric.timestamp, value, nan)


def _point(
    key: str, value: float, timestamp: int, step: int, is_nan: bool, run_id: str | None = None
) -> Metric:
    return Metric.trusted(key, math.nan if is_nan else value, timestamp, step, run_id)


def _same_number(first: str, second: str) -> bool:
    try:
        return float(first) == float(second)
    except ValueError:
        return False
