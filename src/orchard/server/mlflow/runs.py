"""`/mlflow/runs/*`: create, read, update, search, delete, restore, and what runs log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from starlette.responses import Response

from orchard.entities.tracking import Metric, Param, Tag
from orchard.errors import ValidationError
from orchard.server.mlflow.messages import KeyValue, Message, parsed, reply, view_name
from orchard.server.mlflow.scope import Scope
from orchard.services.tracking.runs import RUN_NAME_TAG

router = APIRouter(prefix="/runs")


class RunRef(Message):
    """A run named by `run_id` or, as older clients do, `run_uuid`."""

    run_id: str | None = None
    run_uuid: str | None = None

    @property
    def id(self) -> str:
        run_id = self.run_id or self.run_uuid
        if not run_id:
            raise ValidationError(
                "Missing value for required parameter 'run_id'. See the API docs for more "
                "information about request parameters."
            )
        return run_id


class RunIdOnly(Message):
    run_id: str


class CreateRun(Message):
    experiment_id: str = "0"
    user_id: str | None = None
    run_name: str | None = None
    start_time: int | None = None
    tags: list[KeyValue] = []


class UpdateRun(RunRef):
    status: str | int | None = None
    end_time: int | None = None
    run_name: str | None = None


class MetricIn(Message):
    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None


class LogMetric(RunRef):
    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LogParam(RunRef):
    key: str
    value: str


class SetTag(RunRef):
    key: str
    value: str


class DeleteTag(RunIdOnly):
    key: str


class LogBatch(RunIdOnly):
    metrics: list[MetricIn] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class LogModel(RunIdOnly):
    model_json: str


class Dataset(Message):
    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None


class DatasetInput(Message):
    tags: list[KeyValue] = []
    dataset: Dataset


class ModelInput(Message):
    model_id: str


class ModelOutput(Message):
    model_id: str
    step: int = 0


class LogInputs(RunIdOnly):
    datasets: list[DatasetInput] = []
    models: list[ModelInput] = []


class LogOutputs(RunIdOnly):
    models: list[ModelOutput] = []


class SearchRuns(Message):
    experiment_ids: list[str] = []
    filter: str | None = None
    run_view_type: str | int | None = None
    max_results: int = 1000
    order_by: list[str] = []
    page_token: str | None = None


_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


@router.post("/create")
def create(body: Annotated[CreateRun, Depends(parsed(CreateRun))], s: Scope) -> Response:
    run = s.services.runs.create(
        s.workspace,
        body.experiment_id,
        run_name=body.run_name,
        user_id=body.user_id,
        start_time=body.start_time,
        tags=[Tag(key=t.key, value=t.value) for t in body.tags],
    )
    return reply(run=run)


@router.get("/get")
def get(body: Annotated[RunRef, Depends(parsed(RunRef))], s: Scope) -> Response:
    return reply(run=s.services.runs.get(s.workspace, body.id))


@router.post("/update")
def update(body: Annotated[UpdateRun, Depends(parsed(UpdateRun))], s: Scope) -> Response:
    status = (
        _STATUSES.get(body.status, str(body.status))
        if isinstance(body.status, int)
        else body.status
    )
    if status is not None and status not in _STATUSES.values():
        raise ValidationError(f"Invalid value {status!r} for parameter 'status' supplied.")
    info = s.services.runs.update(
        s.workspace, body.id, status=status, end_time=body.end_time, run_name=body.run_name
    )
    return reply(run_info=info)


@router.post("/delete")
def delete(body: Annotated[RunIdOnly, Depends(parsed(RunIdOnly))], s: Scope) -> Response:
    s.services.runs.set_lifecycle(s.workspace, body.run_id, "deleted")
    return reply()


@router.post("/restore")
def restore(body: Annotated[RunIdOnly, Depends(parsed(RunIdOnly))], s: Scope) -> Response:
    s.services.runs.set_lifecycle(s.workspace, body.run_id, "active")
    return reply()


@router.api_route("/search", methods=["GET", "POST"])
def search(body: Annotated[SearchRuns, Depends(parsed(SearchRuns))], s: Scope) -> Response:
    runs, token = s.services.runs.search(
        s.workspace,
        body.experiment_ids,
        filter_string=body.filter,
        run_view_type=view_name(body.run_view_type),
        max_results=body.max_results,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return reply(runs=runs, next_page_token=token)


@router.post("/log-metric")
def log_metric(body: Annotated[LogMetric, Depends(parsed(LogMetric))], s: Scope) -> Response:
    s.services.runs.log_batch(s.workspace, body.id, metrics=[_metric(body)])
    return reply()


@router.post("/log-parameter")
def log_param(body: Annotated[LogParam, Depends(parsed(LogParam))], s: Scope) -> Response:
    s.services.runs.log_batch(s.workspace, body.id, params=[Param(key=body.key, value=body.value)])
    return reply()


@router.post("/set-tag")
def set_tag(body: Annotated[SetTag, Depends(parsed(SetTag))], s: Scope) -> Response:
    s.services.runs.log_batch(s.workspace, body.id, tags=[Tag(key=body.key, value=body.value)])
    if body.key == RUN_NAME_TAG:  # MLflow renames the run with its name tag
        s.services.runs.update(s.workspace, body.id, run_name=body.value)
    return reply()


@router.post("/delete-tag")
def delete_tag(body: Annotated[DeleteTag, Depends(parsed(DeleteTag))], s: Scope) -> Response:
    s.services.runs.delete_tag(s.workspace, body.run_id, body.key)
    return reply()


@router.post("/log-batch")
def log_batch(body: Annotated[LogBatch, Depends(parsed(LogBatch))], s: Scope) -> Response:
    s.services.runs.log_batch(
        s.workspace,
        body.run_id,
        metrics=[_metric(m) for m in body.metrics],
        params=[Param(key=p.key, value=p.value) for p in body.params],
        tags=[Tag(key=t.key, value=t.value) for t in body.tags],
    )
    return reply()


@router.post("/log-model")
def log_model(body: Annotated[LogModel, Depends(parsed(LogModel))], s: Scope) -> Response:
    s.services.logged_models.record_history(s.workspace, body.run_id, body.model_json)
    return reply()


@router.post("/log-inputs")
def log_inputs(body: Annotated[LogInputs, Depends(parsed(LogInputs))], s: Scope) -> Response:
    runs = s.services.runs
    runs.log_io(s.workspace, body.run_id, "input", "dataset", _bodies(body.datasets))
    runs.log_io(s.workspace, body.run_id, "input", "model", _bodies(body.models))
    return reply()


@router.post("/outputs")
@router.post("/log-outputs")
def log_outputs(body: Annotated[LogOutputs, Depends(parsed(LogOutputs))], s: Scope) -> Response:
    s.services.runs.log_io(s.workspace, body.run_id, "output", "model", _bodies(body.models))
    return reply()


def _metric(given: MetricIn | LogMetric) -> Metric:
    # The message validated these values: a batch's thousand points are not checked twice.
    return Metric.trusted(
        given.key,
        given.value,
        given.timestamp,
        given.step,
        model_id=given.model_id or None,
        dataset_name=given.dataset_name or None,
        dataset_digest=given.dataset_digest or None,
    )


def _bodies(items: Sequence[Message]) -> list[dict[str, Any]]:
    return [item.model_dump(by_alias=True, exclude_none=True) for item in items]
