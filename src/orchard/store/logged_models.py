"""MLflow 3 logged models: a model logged by a run (or on its own), with its own
artifact folder, status, tags and params, kept per experiment."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchard.entities.model_registry import LoggedModel, LoggedModelData, LoggedModelInfo
from orchard.entities.tracking import Metric, Param, Tag
from orchard.errors import NotFound
from orchard.store.experiments import millis
from orchard.store.tables import utcnow
from orchard.store.tracking_tables import ExperimentRow, LoggedModelRow


class LoggedModelRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        experiment_id: int,
        model_id: str,
        *,
        name: str,
        artifact_location: str,
        source_run_id: str | None = None,
        model_type: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        body: dict[str, Any] = {
            "model_type": model_type,
            "params": dict(params or {}),
            "tags": dict(tags or {}),
            "deleted": False,
        }
        row = LoggedModelRow(
            model_id=model_id,
            experiment_id=experiment_id,
            name=name,
            source_run_id=source_run_id,
            status="LOGGED_MODEL_PENDING",
            artifact_location=artifact_location,
            body=body,
        )
        self.session.add(row)
        self.session.flush()
        return self._entity(row)

    def get(self, workspace_id: int, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        return self._entity(self._row(workspace_id, model_id, allow_deleted=allow_deleted))

    def list(self, experiment_ids: Sequence[int]) -> list[LoggedModel]:
        """Every live logged model of the experiments, newest first."""
        rows = self.session.scalars(
            select(LoggedModelRow)
            .where(LoggedModelRow.experiment_id.in_(list(experiment_ids)))
            .order_by(LoggedModelRow.created_at.desc(), LoggedModelRow.id.desc())
        )
        return [self._entity(row) for row in rows if not row.body.get("deleted")]

    def set_status(self, workspace_id: int, model_id: str, status: str) -> LoggedModel:
        row = self._row(workspace_id, model_id, lock=True)
        row.status, row.updated_at = status, utcnow()
        self.session.flush()
        return self._entity(row)

    def update_body(
        self,
        workspace_id: int,
        model_id: str,
        *,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        delete_tag: str | None = None,
        deleted: bool | None = None,
    ) -> None:
        row = self._row(workspace_id, model_id, lock=True)
        body = dict(row.body)
        body["params"] = {**body.get("params", {}), **(params or {})}
        body["tags"] = {**body.get("tags", {}), **(tags or {})}
        if delete_tag is not None:
            if delete_tag not in body["tags"]:
                raise NotFound(f"No tag with key {delete_tag!r} on logged model {model_id}")
            del body["tags"][delete_tag]
        if deleted is not None:
            body["deleted"] = deleted
        row.body, row.updated_at = body, utcnow()
        self.session.flush()

    def log_metrics(self, workspace_id: int, metrics: Sequence[Metric]) -> None:
        """Record each metric on the logged model it names; a point already recorded there
        is kept once."""
        by_model: dict[str, list[Metric]] = {}
        for metric in metrics:
            if metric.model_id:
                by_model.setdefault(metric.model_id, []).append(metric)
        for model_id, points in by_model.items():
            row = self._row(workspace_id, model_id, lock=True)
            body = dict(row.body)
            recorded = list(body.get("metrics", []))
            for point in points:
                stored = _stored_metric(point)
                if stored not in recorded:
                    recorded.append(stored)
            body["metrics"] = recorded
            row.body, row.updated_at = body, utcnow()
        self.session.flush()

    def _row(
        self, workspace_id: int, model_id: str, *, lock: bool = False, allow_deleted: bool = False
    ) -> LoggedModelRow:
        query = (
            select(LoggedModelRow)
            .join(ExperimentRow, ExperimentRow.id == LoggedModelRow.experiment_id)
            .where(LoggedModelRow.model_id == model_id, ExperimentRow.workspace_id == workspace_id)
        )
        row = self.session.scalar(query.with_for_update() if lock else query)
        if row is None or (row.body.get("deleted") and not allow_deleted):
            raise NotFound(f"Logged model with ID '{model_id}' not found.")
        return row

    def _entity(self, row: LoggedModelRow) -> LoggedModel:
        experiment = self.session.get(ExperimentRow, row.experiment_id)
        assert experiment is not None
        body = row.body
        info = LoggedModelInfo(
            model_id=row.model_id,
            experiment_id=str(experiment.number),
            name=row.name,
            creation_timestamp_ms=millis(row.created_at),
            last_updated_timestamp_ms=millis(row.updated_at),
            artifact_uri=row.artifact_location,
            status=row.status,
            model_type=body.get("model_type"),
            source_run_id=row.source_run_id,
            tags=[Tag(key=k, value=str(v)) for k, v in sorted(body.get("tags", {}).items())],
        )
        params = [Param(key=k, value=str(v)) for k, v in sorted(body.get("params", {}).items())]
        metrics = [_metric(stored) for stored in body.get("metrics", [])]
        return LoggedModel(
            info=info,
            data=LoggedModelData(params=params, metrics=metrics),
            deleted=bool(body.get("deleted")),
        )


def _stored_metric(metric: Metric) -> dict[str, Any]:
    # JSON has no NaN or infinities: those values are kept as text ("nan", "inf", "-inf").
    stored = metric.model_dump(exclude_none=True)
    if not math.isfinite(metric.value):
        stored["value"] = str(metric.value)
    return stored


def _metric(stored: dict[str, Any]) -> Metric:
    return Metric.model_validate({**stored, "value": float(stored["value"])})
