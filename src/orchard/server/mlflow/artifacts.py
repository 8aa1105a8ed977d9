"""Artifacts: MLflow's proxy (`/mlflow-artifacts/artifacts/<path>`: upload, download,
list, delete), a run's artifact listing and upload, and the download links the MLflow UI
uses (`/get-artifact`, `/model-versions/get-artifact`).

Uploads stream to a temporary file that is renamed into place; downloads stream out;
nothing is read whole into memory. Every path is cleaned by the artifact service, which
refuses `..`, absolute paths and encoded traversal with a 400.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from orchard.server.mlflow.messages import Message, from_query, parsed, reply
from orchard.server.mlflow.runs import RunRef
from orchard.server.mlflow.scope import Scope
from orchard.services.tracking.artifacts import join

proxy = APIRouter(prefix="/artifacts")  # under /api/2.0/mlflow-artifacts
tracking = APIRouter()  # under /api/2.0/mlflow
downloads = APIRouter()  # at the root, as the MLflow UI links them

_WRITE_BUFFER = 1 << 20
# Served as plain text, so an uploaded page cannot run script in the server's origin.
_ACTIVE_TYPES = {"text/html", "application/javascript", "text/javascript", "image/svg+xml"}


class ProxyList(Message):
    path: str | None = None


class RunArtifacts(RunRef):
    path: str | None = None
    page_token: str | None = None


class RunFile(Message):
    run_id: str | None = None
    run_uuid: str | None = None
    path: str


class VersionFile(Message):
    name: str
    version: str
    path: str


@proxy.get("")
def list_files(body: Annotated[ProxyList, Depends(parsed(ProxyList))], s: Scope) -> Response:
    return reply(files=[vars(f) for f in s.services.artifacts.list(s.workspace, body.path)])


@proxy.put("/{artifact_path:path}")
async def upload(artifact_path: str, request: Request, s: Scope) -> Response:
    await _receive(request, s, artifact_path)
    return reply()


@proxy.get("/{artifact_path:path}")
def download(artifact_path: str, s: Scope) -> Response:
    return _stream(s.services.artifacts.read(s.workspace, artifact_path), artifact_path)


@proxy.delete("/{artifact_path:path}")
def delete(artifact_path: str, s: Scope) -> Response:
    s.services.artifacts.delete(s.workspace, artifact_path)
    return reply()


@tracking.get("/artifacts/list")
def list_run_artifacts(
    body: Annotated[RunArtifacts, Depends(parsed(RunArtifacts))], s: Scope
) -> Response:
    run = s.services.runs.get(s.workspace, body.id)
    root = s.services.artifacts.location(run.info.artifact_uri)
    folder = join(root, body.path)
    inner = folder[len(root) :].strip("/")
    files = [
        {**vars(f), "path": posixpath.join(inner, f.path) if inner else f.path}
        for f in s.services.artifacts.list(s.workspace, folder)
    ]
    return reply(root_uri=run.info.artifact_uri, files=files)


@tracking.post("/upload-artifact")
async def upload_run_artifact(request: Request, s: Scope) -> Response:
    ref = from_query(request, RunFile)
    run_id = RunRef(run_id=ref.run_id, run_uuid=ref.run_uuid).id
    root = await run_in_threadpool(s.services.artifacts.run_root, s.workspace, run_id)
    await _receive(request, s, join(root, ref.path))
    return reply()


@downloads.get("/get-artifact")
def get_run_artifact(body: Annotated[RunFile, Depends(parsed(RunFile))], s: Scope) -> Response:
    run_id = RunRef(run_id=body.run_id, run_uuid=body.run_uuid).id
    path = join(s.services.artifacts.run_root(s.workspace, run_id), body.path)
    return _stream(s.services.artifacts.read(s.workspace, path), path)


@downloads.get("/model-versions/get-artifact")
def get_version_artifact(
    body: Annotated[VersionFile, Depends(parsed(VersionFile))], s: Scope
) -> Response:
    uri = s.services.model_versions.download_uri(s.workspace, body.name, body.version)
    path = join(s.services.artifacts.location(uri), body.path)
    return _stream(s.services.artifacts.read(s.workspace, path), path)


async def _receive(request: Request, s: Scope, path: str) -> None:
    """Stream the request body into the artifact at `path`."""
    upload = await run_in_threadpool(s.services.artifacts.open_upload, s.workspace, path)
    try:
        pending = bytearray()
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= _WRITE_BUFFER:
                await run_in_threadpool(upload.write, bytes(pending))
                pending.clear()
        if pending:
            await run_in_threadpool(upload.write, bytes(pending))
    except BaseException:
        await run_in_threadpool(upload.abort)
        raise
    await run_in_threadpool(upload.commit)


def _stream(chunks: Iterator[bytes], path: str) -> Response:
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if media_type in _ACTIVE_TYPES:
        media_type = "text/plain"
    headers = {"X-Content-Type-Options": "nosniff"}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)
