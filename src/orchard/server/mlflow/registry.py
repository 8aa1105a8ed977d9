"""`/mlflow/registered-models/*`: registered models, their tags and aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from orchard.server.mlflow.messages import KeyValue, Message, parsed, reply
from orchard.server.mlflow.scope import Scope

router = APIRouter(prefix="/registered-models")


class Name(Message):
    name: str


class CreateRegisteredModel(Name):
    tags: list[KeyValue] = []
    description: str | None = None
    deployment_job_id: str | None = None


class RenameRegisteredModel(Name):
    new_name: str


class UpdateRegisteredModel(Name):
    description: str | None = None
    deployment_job_id: str | None = None


class SearchRegisteredModels(Message):
    filter: str | None = None
    max_results: int | None = None
    order_by: list[str] = []
    page_token: str | None = None


class GetLatestVersions(Name):
    stages: list[str] = []


class SetRegisteredModelTag(Name):
    key: str
    value: str


class DeleteRegisteredModelTag(Name):
    key: str


class SetAlias(Name):
    alias: str
    version: str


class Alias(Name):
    alias: str


@router.post("/create")
def create(
    body: Annotated[CreateRegisteredModel, Depends(parsed(CreateRegisteredModel))], s: Scope
) -> Response:
    model = s.services.registry.create(
        s.workspace,
        body.name,
        tags={t.key: t.value for t in body.tags},
        description=body.description,
    )
    return reply(registered_model=model)


@router.get("/get")
def get(body: Annotated[Name, Depends(parsed(Name))], s: Scope) -> Response:
    return reply(registered_model=s.services.registry.get(s.workspace, body.name))


@router.api_route("/search", methods=["GET", "POST"])
def search(
    body: Annotated[SearchRegisteredModels, Depends(parsed(SearchRegisteredModels))], s: Scope
) -> Response:
    models, token = s.services.registry.search(
        s.workspace,
        filter_string=body.filter,
        max_results=body.max_results or 100,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return reply(registered_models=models, next_page_token=token)


@router.post("/rename")
def rename(
    body: Annotated[RenameRegisteredModel, Depends(parsed(RenameRegisteredModel))], s: Scope
) -> Response:
    model = s.services.registry.rename(s.workspace, body.name, body.new_name)
    return reply(registered_model=model)


@router.patch("/update")
def update(
    body: Annotated[UpdateRegisteredModel, Depends(parsed(UpdateRegisteredModel))], s: Scope
) -> Response:
    model = s.services.registry.update(s.workspace, body.name, description=body.description)
    return reply(registered_model=model)


@router.delete("/delete")
def delete(body: Annotated[Name, Depends(parsed(Name))], s: Scope) -> Response:
    s.services.registry.delete(s.workspace, body.name)
    return reply()


@router.api_route("/get-latest-versions", methods=["GET", "POST"])
def latest_versions(
    body: Annotated[GetLatestVersions, Depends(parsed(GetLatestVersions))], s: Scope
) -> Response:
    found = s.services.registry.latest_versions(s.workspace, body.name, body.stages)
    return reply(model_versions=found)


@router.post("/set-tag")
def set_tag(
    body: Annotated[SetRegisteredModelTag, Depends(parsed(SetRegisteredModelTag))], s: Scope
) -> Response:
    s.services.registry.update(s.workspace, body.name, set_tags={body.key: body.value})
    return reply()


@router.delete("/delete-tag")
def delete_tag(
    body: Annotated[DeleteRegisteredModelTag, Depends(parsed(DeleteRegisteredModelTag))],
    s: Scope,
) -> Response:
    s.services.registry.update(s.workspace, body.name, delete_tag=body.key)
    return reply()


@router.post("/alias")
def set_alias(body: Annotated[SetAlias, Depends(parsed(SetAlias))], s: Scope) -> Response:
    s.services.registry.set_alias(s.workspace, body.name, body.alias, body.version)
    return reply()


@router.delete("/alias")
def delete_alias(body: Annotated[Alias, Depends(parsed(Alias))], s: Scope) -> Response:
    s.services.registry.delete_alias(s.workspace, body.name, body.alias)
    return reply()


@router.get("/alias")
def get_by_alias(body: Annotated[Alias, Depends(parsed(Alias))], s: Scope) -> Response:
    version = s.services.registry.version_by_alias(s.workspace, body.name, body.alias)
    return reply(model_version=version)
