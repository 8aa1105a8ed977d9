"""`/mlflow/model-versions/*`: register, read, search, update, stage, tag and delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from orchard.server.mlflow.messages import KeyValue, Message, parsed, reply
from orchard.server.mlflow.scope import Scope

router = APIRouter(prefix="/model-versions")


class VersionRef(Message):
    name: str
    version: str


class CreateModelVersion(Message):
    name: str
    source: str
    run_id: str | None = None
    tags: list[KeyValue] = []
    run_link: str | None = None
    description: str | None = None
    model_id: str | None = None


class UpdateModelVersion(VersionRef):
    description: str | None = None


class TransitionStage(VersionRef):
    stage: str
    archive_existing_versions: bool = False


class SearchModelVersions(Message):
    filter: str | None = None
    max_results: int | None = None
    order_by: list[str] = []
    page_token: str | None = None


class SetModelVersionTag(VersionRef):
    key: str
    value: str


class DeleteModelVersionTag(VersionRef):
    key: str


@router.post("/create")
def create(
    body: Annotated[CreateModelVersion, Depends(parsed(CreateModelVersion))], s: Scope
) -> Response:
    version = s.services.model_versions.create(
        s.workspace,
        body.name,
        body.source,
        run_id=body.run_id,
        model_id=body.model_id,
        tags={t.key: t.value for t in body.tags},
        run_link=body.run_link,
        description=body.description,
    )
    return reply(model_version=version)


@router.get("/get")
def get(body: Annotated[VersionRef, Depends(parsed(VersionRef))], s: Scope) -> Response:
    version = s.services.model_versions.get(s.workspace, body.name, body.version)
    return reply(model_version=version)


@router.api_route("/search", methods=["GET", "POST"])
def search(
    body: Annotated[SearchModelVersions, Depends(parsed(SearchModelVersions))], s: Scope
) -> Response:
    versions, token = s.services.registry.search_versions(
        s.workspace,
        filter_string=body.filter,
        max_results=body.max_results or 10_000,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return reply(model_versions=versions, next_page_token=token)


@router.patch("/update")
def update(
    body: Annotated[UpdateModelVersion, Depends(parsed(UpdateModelVersion))], s: Scope
) -> Response:
    changes = {} if body.description is None else {"description": body.description}
    version = s.services.model_versions.update(s.workspace, body.name, body.version, changes)
    return reply(model_version=version)


@router.post("/transition-stage")
def transition_stage(
    body: Annotated[TransitionStage, Depends(parsed(TransitionStage))], s: Scope
) -> Response:
    version = s.services.model_versions.transition(
        s.workspace, body.name, body.version, body.stage, body.archive_existing_versions
    )
    return reply(model_version=version)


@router.delete("/delete")
def delete(body: Annotated[VersionRef, Depends(parsed(VersionRef))], s: Scope) -> Response:
    s.services.model_versions.delete(s.workspace, body.name, body.version)
    return reply()


@router.get("/get-download-uri")
def download_uri(body: Annotated[VersionRef, Depends(parsed(VersionRef))], s: Scope) -> Response:
    uri = s.services.model_versions.download_uri(s.workspace, body.name, body.version)
    return reply(artifact_uri=uri)


@router.post("/set-tag")
def set_tag(
    body: Annotated[SetModelVersionTag, Depends(parsed(SetModelVersionTag))], s: Scope
) -> Response:
    s.services.model_versions.set_tag(s.workspace, body.name, body.version, body.key, body.value)
    return reply()


@router.delete("/delete-tag")
def delete_tag(
    body: Annotated[DeleteModelVersionTag, Depends(parsed(DeleteModelVersionTag))], s: Scope
) -> Response:
    s.services.model_versions.set_tag(s.workspace, body.name, body.version, body.key, None)
    return reply()
