"""`/health`, `/version` and `/api/3.0/mlflow/server-info`: what clients ask a server
before they use it."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from orchard.server.mlflow.messages import reply

# The MLflow version whose REST API Orchard serves; clients gate features on it.
MLFLOW_VERSION = "3.5.0"

router = APIRouter()


@router.get("/health")
def health() -> Response:
    return PlainTextResponse("OK")


@router.get("/version")
def version() -> Response:
    return PlainTextResponse(MLFLOW_VERSION)


@router.get("/api/3.0/mlflow/server-info")
def server_info() -> Response:
    return reply(
        store_type="SqlStore",
        workspaces_enabled=False,
        trace_archival_enabled=False,
        multipart_uploads_enabled=False,
        multipart_downloads_enabled=False,
        presigned_upload_run_id_supported=False,
        presigned_upload_model_id_supported=False,
        features_enabled={"gateway": False},
    )
