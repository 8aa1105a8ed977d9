"""`/mlflow/experiments/*`: create, read, search, rename, delete, restore and tag."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from orchard.server.mlflow.messages import KeyValue, Message, parsed, reply, view_name
from orchard.server.mlflow.scope import Scope

router = APIRouter(prefix="/experiments")


class CreateExperiment(Message):
    name: str
    artifact_location: str | None = None
    tags: list[KeyValue] = []


class ExperimentId(Message):
    experiment_id: str


class GetByName(Message):
    experiment_name: str


class SearchExperiments(Message):
    max_results: int | None = None
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] = []
    view_type: str | int | None = None


class UpdateExperiment(Message):
    experiment_id: str
    new_name: str


class SetExperimentTag(Message):
    experiment_id: str
    key: str
    value: str


class DeleteExperimentTag(Message):
    experiment_id: str
    key: str


@router.post("/create")
def create(
    body: Annotated[CreateExperiment, Depends(parsed(CreateExperiment))], s: Scope
) -> Response:
    experiment_id = s.services.experiments.create(
        s.workspace,
        body.name,
        artifact_location=body.artifact_location,
        tags={t.key: t.value for t in body.tags},
    )
    return reply(experiment_id=experiment_id)


@router.get("/get")
def get(body: Annotated[ExperimentId, Depends(parsed(ExperimentId))], s: Scope) -> Response:
    return reply(experiment=s.services.experiments.get(s.workspace, body.experiment_id))


@router.get("/get-by-name")
def get_by_name(body: Annotated[GetByName, Depends(parsed(GetByName))], s: Scope) -> Response:
    return reply(experiment=s.services.experiments.get_by_name(s.workspace, body.experiment_name))


@router.api_route("/search", methods=["GET", "POST"])
def search(
    body: Annotated[SearchExperiments, Depends(parsed(SearchExperiments))], s: Scope
) -> Response:
    found, token = s.services.experiment_search.search(
        s.workspace,
        view_type=view_name(body.view_type),
        max_results=body.max_results or 1000,
        filter_string=body.filter,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return reply(experiments=found, next_page_token=token)


@router.post("/update")
def update(
    body: Annotated[UpdateExperiment, Depends(parsed(UpdateExperiment))], s: Scope
) -> Response:
    s.services.experiments.rename(s.workspace, body.experiment_id, body.new_name)
    return reply()


@router.post("/delete")
def delete(body: Annotated[ExperimentId, Depends(parsed(ExperimentId))], s: Scope) -> Response:
    s.services.experiments.set_stage(s.workspace, body.experiment_id, "deleted")
    return reply()


@router.post("/restore")
def restore(body: Annotated[ExperimentId, Depends(parsed(ExperimentId))], s: Scope) -> Response:
    s.services.experiments.set_stage(s.workspace, body.experiment_id, "active")
    return reply()


@router.post("/set-experiment-tag")
def set_tag(
    body: Annotated[SetExperimentTag, Depends(parsed(SetExperimentTag))], s: Scope
) -> Response:
    s.services.experiments.set_tag(s.workspace, body.experiment_id, body.key, body.value)
    return reply()


@router.post("/delete-experiment-tag")
def delete_tag(
    body: Annotated[DeleteExperimentTag, Depends(parsed(DeleteExperimentTag))], s: Scope
) -> Response:
    s.services.experiments.set_tag(s.workspace, body.experiment_id, body.key, None)
    return reply()
