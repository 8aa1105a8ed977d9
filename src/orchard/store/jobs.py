"""Jobs (MLflow runs) and what they log: params, tags, metrics, inputs and outputs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from orchard.entities.tracking import Metric, Param, Tag
from orchard.errors import NotFound, ValidationError
from orchard.store.run_query import RunSearch, search_query
from orchard.store.tables import utcnow
from orchard.store.tracking_tables import (
    JobIoRow,
    JobRow,
    LatestMetricRow,
    MetricRow,
    ParamRow,
    TagRow,
)


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

    def find(self, name: str) -> JobRow | None:
        return self.session.scalar(select(JobRow).where(JobRow.name == name))

    def search(self, search: RunSearch) -> list[JobRow]:
        return list(self.session.scalars(search_query(search)))

    def children(self, parent_id: int) -> list[JobRow]:
        return list(self.session.scalars(select(JobRow).where(JobRow.parent_id == parent_id)))

    def touch(self, row: JobRow) -> None:
        row.updated_at = utcnow()

    # -- params, tags ------------------------------------------------------------------

    def params(self, job_id: int) -> list[Param]:
        rows = self.session.scalars(
            select(ParamRow).where(ParamRow.job_id == job_id).order_by(ParamRow.key)
        )
        return [Param(key=r.key, value=r.value) for r in rows]

    def log_params(self, job_id: int, params: Iterable[Param]) -> None:
        """Params are write-once: logging a different value for a key is an error."""
        wanted = {p.key: p.value for p in params}
        if not wanted:
            return
        existing = {
            r.key: r.value
            for r in self.session.scalars(
                select(ParamRow).where(ParamRow.job_id == job_id, ParamRow.key.in_(list(wanted)))
            )
        }
        for key, value in wanted.items():
            if key in existing:
                if existing[key] != value:
                    raise ValidationError(
                        f"Changing param values is not allowed. Param with key='{key}' was "
                        f"already logged with value='{existing[key]}' for run ID='{job_id}'. "
                        f"Attempted logging new value '{value}'."
                    )
                continue
            self.session.add(ParamRow(job_id=job_id, key=key, value=value))
        self.session.flush()

    def tags(self, job_id: int) -> list[Tag]:
        rows = self.session.scalars(
            select(TagRow).where(TagRow.job_id == job_id).order_by(TagRow.key)
        )
        return [Tag(key=r.key, value=r.value) for r in rows]

    def set_tags(self, job_id: int, tags: Iterable[Tag]) -> None:
        for tag in tags:
            self.session.merge(TagRow(job_id=job_id, key=tag.key, value=tag.value))
        self.session.flush()

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
        rows = [_metric_row(job_id, m) for m in metrics]
        self.session.execute(insert(MetricRow), rows)
        newest: dict[str, dict[str, Any]] = {}
        for row in rows:
            best = newest.get(row["key"])
            if best is None or (row["step"], row["timestamp"]) >= (best["step"], best["timestamp"]):
                newest[row["key"]] = row
        self._upsert_latest(list(newest.values()))

    def latest_metrics(self, job_ids: Sequence[int]) -> dict[int, list[Metric]]:
        found: dict[int, list[Metric]] = {job_id: [] for job_id in job_ids}
        rows = self.session.scalars(
            select(LatestMetricRow)
            .where(LatestMetricRow.job_id.in_(list(job_ids)))
            .order_by(LatestMetricRow.key)
        )
        for row in rows:
            found[row.job_id].append(_metric(row))
        return found

    def metric_history(
        self, job_id: int, key: str, *, offset: int = 0, limit: int | None = None
    ) -> list[Metric]:
        query = (
            select(
                MetricRow.key,
                MetricRow.value,
                MetricRow.timestamp,
                MetricRow.step,
                MetricRow.is_nan,
            )
            .where(MetricRow.job_id == job_id, MetricRow.key == key)
            .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            Metric(key=k, value=math.nan if nan else v, timestamp=ts, step=step)
            for k, v, ts, step, nan in self.session.execute(query)
        ]

    def _upsert_latest(self, rows: list[dict[str, Any]]) -> None:
        dialect = self.session.get_bind().dialect.name
        upsert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = upsert(LatestMetricRow).values(rows)
        excluded = statement.excluded
        newer = (excluded.step > LatestMetricRow.step) | (
            (excluded.step == LatestMetricRow.step)
            & (excluded.timestamp >= LatestMetricRow.timestamp)
        )
        statement = statement.on_conflict_do_update(
            index_elements=["job_id", "key"],
            set_={c: excluded[c] for c in ("step", "timestamp", "value", "is_nan")},
            where=newer,
        )
        self.session.execute(statement)

    # -- inputs and outputs ------------------------------------------------------------

    def add_io(
        self, job_id: int, direction: str, kind: str, bodies: Iterable[dict[str, Any]]
    ) -> None:
        for body in bodies:
            self.session.add(JobIoRow(job_id=job_id, direction=direction, kind=kind, body=body))
        self.session.flush()

    def io(self, job_id: int) -> list[tuple[str, str, dict[str, Any]]]:
        rows = self.session.scalars(
            select(JobIoRow).where(JobIoRow.job_id == job_id).order_by(JobIoRow.id)
        )
        return [(r.direction, r.kind, r.body) for r in rows]


def _metric_row(job_id: int, metric: Metric) -> dict[str, Any]:
    nan = math.isnan(metric.value)
    # Infinities are stored as the largest finite floats, as MLflow does.
    value = 0.0 if nan else max(min(metric.value, 1.7976931348623157e308), -1.7976931348623157e308)
    return {
        "job_id": job_id,
        "key": metric.key,
        "step": metric.step,
        "timestamp": metric.timestamp,
        "value": value,
        "is_nan": nan,
    }


def _metric(row: LatestMetricRow) -> Metric:
    value = math.nan if row.is_nan else row.value
    return Metric(key=row.key, value=value, timestamp=row.timestamp, step=row.step)
