"""Run search as SQL: MLflow's filter clauses and order-by keys over jobs.

The filter string is parsed above the store (services); here each clause becomes a
join on `latest_metrics`, `job_params` or `job_tags`, or a condition on a job column,
so a search over many runs is one indexed query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.orm import aliased

from orchard.store.tracking_tables import ExperimentRow, JobRow, LatestMetricRow, ParamRow, TagRow

EntityKind = Literal["metric", "param", "tag", "attribute"]
ATTRIBUTE_COLUMNS = {
    "run_id": JobRow.name,
    "run_name": JobRow.display_name,
    "status": JobRow.status,
    "user_id": JobRow.user_id,
    "start_time": JobRow.start_time,
    "end_time": JobRow.end_time,
    "artifact_uri": JobRow.artifact_uri,
    "lifecycle_stage": JobRow.lifecycle_stage,
}


@dataclass(frozen=True)
class Clause:
    kind: EntityKind
    key: str
    op: str  # = != > >= < <= LIKE ILIKE IN NOT IN "IS NULL" "IS NOT NULL"
    value: Any = None


@dataclass(frozen=True)
class OrderKey:
    kind: EntityKind
    key: str
    ascending: bool = True


@dataclass(frozen=True)
class RunSearch:
    experiment_ids: Sequence[int]  # experiments.id (internal), already resolved
    clauses: Sequence[Clause] = ()
    order_by: Sequence[OrderKey] = ()
    stages: Sequence[str] = ("active",)
    offset: int = 0
    limit: int = 1000


def search_query(search: RunSearch) -> Select[JobRow]:
    query = select(JobRow).where(
        JobRow.experiment_id.in_(list(search.experiment_ids)),
        JobRow.lifecycle_stage.in_(list(search.stages)),
    )
    for clause in search.clauses:
        query = query.where(_condition(clause))
    ordering: list[Any] = []
    for index, key in enumerate(search.order_by):
        query, column = _order_column(query, key, index)
        # NULLs (runs without the metric) sort last either way, as MLflow does.
        ordering.append(column.is_(None))
        ordering.append(column.asc() if key.ascending else column.desc())
    ordering += [JobRow.start_time.desc(), JobRow.id.desc()]
    return query.order_by(*ordering).offset(search.offset).limit(search.limit)


def _condition(clause: Clause) -> ColumnElement[bool]:
    if clause.kind == "attribute":
        column = ATTRIBUTE_COLUMNS[clause.key]
        return _compare(column, clause)
    if clause.kind == "metric":
        metric = aliased(LatestMetricRow)
        return (
            select(literal(1))
            .where(
                metric.job_id == JobRow.id, metric.key == clause.key, _compare(metric.value, clause)
            )
            .exists()
        )
    table = aliased(ParamRow) if clause.kind == "param" else aliased(TagRow)
    if clause.op == "IS NULL":
        return (
            ~select(literal(1)).where(table.job_id == JobRow.id, table.key == clause.key).exists()
        )
    return (
        select(literal(1))
        .where(table.job_id == JobRow.id, table.key == clause.key, _compare(table.value, clause))
        .exists()
    )


def _compare(column: Any, clause: Clause) -> ColumnElement[bool]:
    op, value = clause.op, clause.value
    comparisons: dict[str, Any] = {
        "=": lambda: column == value,
        "!=": lambda: column != value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
        "LIKE": lambda: column.like(value),
        "ILIKE": lambda: func.lower(column).like(str(value).lower()),
        "IN": lambda: column.in_(list(value)),
        "NOT IN": lambda: column.not_in(list(value)),
        "IS NULL": lambda: column.is_(None),
        "IS NOT NULL": lambda: column.is_not(None),
    }
    result: ColumnElement[bool] = comparisons[op]()
    return result


def _order_column(query: Select[JobRow], key: OrderKey, index: int) -> tuple[Select[JobRow], Any]:
    if key.kind == "attribute":
        if key.key == "experiment_name":
            return query.join(ExperimentRow), ExperimentRow.name
        return query, ATTRIBUTE_COLUMNS[key.key]
    table: Any = {"metric": LatestMetricRow, "param": ParamRow, "tag": TagRow}[key.kind]
    joined = aliased(table, name=f"order_{index}")
    query = query.outerjoin(joined, and_(joined.job_id == JobRow.id, joined.key == key.key))
    return query, joined.value


__all__ = ["Clause", "OrderKey", "RunSearch", "or_", "search_query"]
