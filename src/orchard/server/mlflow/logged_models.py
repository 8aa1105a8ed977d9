"""`/mlflow/logged-models/*`: MLflow 3's logged models, which `log_model` creates first,
uploads into (`<experiment artifacts>/models/<model id>/artifacts`) and then finalizes."""

from __future__ import annotations

import posixpath
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from orchard.server.mlflow.messages import KeyValue, Message, parsed, reply
from orchard.server.mlflow.scope import Scope
from orchard.services.tracking.artifacts import join

router = APIRouter(prefix="/logged-models")


class CreateLoggedModel(Message):
    experiment_id: str
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class FinalizeLoggedModel(Message):
    model_id: str | None = None
    status: str | int


class Tags(Message):
    model_id: str | None = None
    tags: list[KeyValue] = []


class Params(Message):
    model_id: str | None = None
    params: list[KeyValue] = []


class DatasetFilter(Message):
    dataset_name: str
    dataset_digest: str | None = None


class OrderBy(Message):
    field_name: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


class SearchLoggedModels(Message):
    experiment_ids: list[str] = []
    filter: str | None = None
    datasets: list[DatasetFilter] = []
    max_results: int | None = None
    order_by: list[OrderBy] = []
    page_token: str | None = None


class ModelRef(Message):
    model_id: str | None = None
    allow_deleted: bool = False


class ListArtifacts(Message):
    model_id: str | None = None
    artifact_directory_path: str | None = None
    page_token: str | None = None


@router.post("")
def create(
    body: Annotated[CreateLoggedModel, Depends(parsed(CreateLoggedModel))], s: Scope
) -> Response:
    model = s.services.logged_models.create(
        s.workspace,
        body.experiment_id,
        name=body.name,
        model_type=body.model_type,
        source_run_id=body.source_run_id,
        params={p.key: p.value for p in body.params},
        tags={t.key: t.value for t in body.tags},
    )
    return reply(model=model)


@router.post("/search")
def search(
    body: Annotated[SearchLoggedModels, Depends(parsed(SearchLoggedModels))], s: Scope
) -> Response:
    models, token = s.services.logged_models.search(
        s.workspace,
        body.experiment_ids,
        filter_string=body.filter,
        order_by=[(o.field_name, o.ascending) for o in body.order_by],
        max_results=body.max_results,
        page_token=body.page_token,
    )
    return reply(models=models, next_page_token=token)


@router.get("/{model_id}")
def get(model_id: str, body: Annotated[ModelRef, Depends(parsed(ModelRef))], s: Scope) -> Response:
    model = s.services.logged_models.get(s.workspace, model_id, allow_deleted=body.allow_deleted)
    return reply(model=model)


@router.patch("/{model_id}")
def finalize(
    model_id: str,
    body: Annotated[FinalizeLoggedModel, Depends(parsed(FinalizeLoggedModel))],
    s: Scope,
) -> Response:
    return reply(model=s.services.logged_models.finalize(s.workspace, model_id, body.status))


@router.delete("/{model_id}")
def delete(
    model_id: str, body: Annotated[ModelRef, Depends(parsed(ModelRef))], s: Scope
) -> Response:
    s.services.logged_models.delete(s.workspace, model_id)
    return reply()


@router.patch("/{model_id}/tags")
def set_tags(model_id: str, body: Annotated[Tags, Depends(parsed(Tags))], s: Scope) -> Response:
    s.services.logged_models.set_tags(s.workspace, model_id, {t.key: t.value for t in body.tags})
    return reply()


@router.delete("/{model_id}/tags/{tag_key:path}")
def delete_tag(
    model_id: str, tag_key: str, body: Annotated[ModelRef, Depends(parsed(ModelRef))], s: Scope
) -> Response:
    s.services.logged_models.delete_tag(s.workspace, model_id, tag_key)
    return reply()


@router.post("/{model_id}/params")
def log_params(
    model_id: str, body: Annotated[Params, Depends(parsed(Params))], s: Scope
) -> Response:
    s.services.logged_models.log_params(
        s.workspace, model_id, {p.key: p.value for p in body.params}
    )
    return reply()


@router.get("/{model_id}/artifacts/directories")
def list_artifacts(
    model_id: str, body: Annotated[ListArtifacts, Depends(parsed(ListArtifacts))], s: Scope
) -> Response:
    model = s.services.logged_models.get(s.workspace, model_id)
    root = s.services.artifacts.location(model.info.artifact_uri)
    folder = join(root, body.artifact_directory_path)
    inner = folder[len(root) :].strip("/")
    files = [
        {**vars(f), "path": posixpath.join(inner, f.path) if inner else f.path}
        for f in s.services.artifacts.list(s.workspace, folder)
    ]
    return reply(root_uri=model.info.artifact_uri, files=files)
