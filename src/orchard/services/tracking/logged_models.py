"""MLflow 3 logged models: created before a model's files are uploaded, finalized after.

A logged model belongs to an experiment and keeps its files at
`<experiment artifact location>/models/<model id>/artifacts`. `record_history` is the
older `log-model` call, which MLflow keeps as the run tag `mlflow.log-model.history`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from orchard.entities.model_registry import LoggedModel
from orchard.entities.tracking import Tag
from orchard.errors import ValidationError
from orchard.services.context import Context
from orchard.services.tracking.experiments import ExperimentService
from orchard.services.tracking.filters import Order, matches, parse_filter, sort_items
from orchard.services.tracking.limits import check_key
from orchard.services.tracking.names import random_name
from orchard.services.tracking.paging import decode_token, encode_token
from orchard.services.tracking.runs import RunService

LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
STATUSES = {
    0: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    1: "LOGGED_MODEL_PENDING",
    2: "LOGGED_MODEL_READY",
    3: "LOGGED_MODEL_UPLOAD_FAILED",
}
_ATTRIBUTES = {
    "model_id": "model_id",
    "name": "name",
    "model_type": "model_type",
    "status": "status",
    "source_run_id": "source_run_id",
    "creation_timestamp": "creation_timestamp_ms",
    "creation_time": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
_REQUIRED_MODEL_FIELDS = ("artifact_path", "flavors", "utc_time_created", "run_id")
MAX_SEARCH_RESULTS = 1000


class LoggedModelService:
    def __init__(self, context: Context, experiments: ExperimentService, runs: RunService) -> None:
        self.context = context
        self.experiments = experiments
        self.runs = runs

    def create(
        self,
        workspace: str,
        experiment_id: str,
        *,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        _check_keys(params, "Param")
        _check_keys(tags, "Tag")
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            experiment = self.experiments.active_row(tx, workspace_id, experiment_id)
            if source_run_id:
                self.runs.row(tx, workspace, source_run_id)
            model_id = f"m-{uuid.uuid4().hex}"
            return tx.logged_models.create(
                experiment.id,
                model_id,
                name=name or random_name(),
                artifact_location=f"{experiment.artifact_location}/models/{model_id}/artifacts",
                source_run_id=source_run_id or None,
                model_type=model_type or None,
                params=params,
                tags=tags,
            )

    def get(self, workspace: str, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            return tx.logged_models.get(workspace_id, model_id, allow_deleted=allow_deleted)

    def finalize(self, workspace: str, model_id: str, status: str | int) -> LoggedModel:
        name = STATUSES.get(status, str(status)) if isinstance(status, int) else status
        if name not in ("LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"):
            raise ValidationError(
                f"Invalid value {status!r} for parameter 'status': a logged model is finalized "
                "as LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED"
            )
        with self.context.store.begin() as tx:
            return tx.logged_models.set_status(tx.workspaces.id_of(workspace), model_id, name)

    def set_tags(self, workspace: str, model_id: str, tags: Mapping[str, str]) -> None:
        _check_keys(tags, "Tag")
        with self.context.store.begin() as tx:
            tx.logged_models.update_body(tx.workspaces.id_of(workspace), model_id, tags=tags)

    def delete_tag(self, workspace: str, model_id: str, key: str) -> None:
        with self.context.store.begin() as tx:
            tx.logged_models.update_body(tx.workspaces.id_of(workspace), model_id, delete_tag=key)

    def log_params(self, workspace: str, model_id: str, params: Mapping[str, str]) -> None:
        _check_keys(params, "Param")
        with self.context.store.begin() as tx:
            tx.logged_models.update_body(tx.workspaces.id_of(workspace), model_id, params=params)

    def delete(self, workspace: str, model_id: str) -> None:
        with self.context.store.begin() as tx:
            tx.logged_models.update_body(tx.workspaces.id_of(workspace), model_id, deleted=True)

    def search(
        self,
        workspace: str,
        experiment_ids: Sequence[str],
        *,
        filter_string: str | None = None,
        order_by: Sequence[tuple[str, bool]] = (),
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> tuple[list[LoggedModel], str | None]:
        limit = max_results or 100
        if limit > MAX_SEARCH_RESULTS:
            raise ValidationError(
                f"Invalid value for request parameter max_results. It must be at most "
                f"{MAX_SEARCH_RESULTS}, but got value {limit}"
            )
        conditions = parse_filter(
            filter_string, attributes=_ATTRIBUTES, kinds=("tag", "param", "metric")
        )
        offset = decode_token(page_token)
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            ids = [self.experiments.row(tx, workspace_id, e).id for e in experiment_ids]
            models = tx.logged_models.list(ids)
        found = [m for m in models if all(matches(c, _value(m, c.kind, c.key)) for c in conditions)]
        ordered = sort_items(found, [_order(field, asc) for field, asc in order_by], _order_value)
        page = ordered[offset : offset + limit]
        token = encode_token(offset + limit) if len(ordered) > offset + limit else None
        return page, token

    def record_history(self, workspace: str, run_id: str, model_json: str) -> None:
        """Append a logged model's description to the run's `mlflow.log-model.history`."""
        try:
            model = json.loads(model_json)
        except (TypeError, ValueError):
            raise ValidationError("Invalid value for parameter 'model_json': not JSON") from None
        if not isinstance(model, dict):
            raise ValidationError("Invalid value for parameter 'model_json': not a JSON object")
        missing = sorted(set(_REQUIRED_MODEL_FIELDS) - set(model))
        if missing:
            raise ValidationError(f"Model json is missing mandatory fields: {missing}")
        with self.context.store.begin() as tx:
            row = self.runs.row(tx, workspace, run_id, lock=True)
            current = {t.key: t.value for t in tx.jobs.tags(row.id)}.get(LOG_MODEL_HISTORY_TAG)
            history: list[Any] = json.loads(current) if current else []
            history.append(model)
            tx.jobs.set_tags(row.id, [Tag(key=LOG_MODEL_HISTORY_TAG, value=json.dumps(history))])


def _check_keys(items: Mapping[str, str] | None, what: str) -> None:
    for key in items or {}:
        check_key(key, what)


def _order(field: str, ascending: bool) -> Order:
    if field.startswith(("params.", "tags.", "metrics.")):
        return Order(field, ascending)
    if field not in _ATTRIBUTES:
        raise ValidationError(
            f"Invalid order_by field '{field}' for logged models: use one of "
            f"{sorted(_ATTRIBUTES)} or a params., tags. or metrics. key"
        )
    return Order(_ATTRIBUTES[field], ascending)


def _value(model: LoggedModel, kind: str, key: str) -> str | float | None:
    if kind == "tag":
        return model.tags.get(key)
    if kind == "param":
        return model.params.get(key)
    if kind == "metric":
        values = [m.value for m in model.data.metrics if m.key == key]
        return values[-1] if values else None
    value = getattr(model.info, key, None)
    return value if isinstance(value, str | int | float) or value is None else str(value)


def _order_value(model: LoggedModel, key: str) -> Any:
    kind, _, name = key.partition(".")
    if kind in ("params", "tags", "metrics") and name:
        return _value(model, kind[:-1], name)
    return getattr(model.info, key, None)
