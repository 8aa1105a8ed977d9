"""A real Orchard server on a loopback port, and the stock mlflow client pointed at it.

The server runs uvicorn in a background thread of the test process, over the same
services as `ml_client` (so over SQLite and PostgreSQL alike); it is ready when
`/health` answers. The mlflow client is told not to retry, so a 500 fails the test at
once instead of being retried for minutes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

# Before mlflow is imported by any test module: no telemetry, no retries, no waiting.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"

import httpx
import pytest
from fastapi import FastAPI

from live_server import serving
from orchard.sdk.client import MLClient
from orchard.server.app import create_app
from orchard.services import Services


@pytest.fixture
def services(ml_client: MLClient) -> Services:
    found: Services = ml_client._transport.services  # type: ignore[attr-defined]
    return found


@pytest.fixture
def app(services: Services, workspace_name: str) -> FastAPI:
    return create_app(services, default_workspace=workspace_name)


@pytest.fixture
def server_url(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, for the length of one test."""
    with serving(app) as url:
        yield url


@pytest.fixture
def tracking_uri(server_url: str) -> Iterator[str]:
    """The stock mlflow client pointed at the server, and reset afterwards."""
    import mlflow
    from mlflow.tracking import fluent

    _forget_experiment()
    mlflow.set_tracking_uri(server_url)
    mlflow.set_registry_uri(server_url)
    yield server_url
    while mlflow.active_run() is not None:
        mlflow.end_run()
    _forget_experiment()
    fluent._active_experiment_id = None
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    mlflow.set_registry_uri(None)  # type: ignore[arg-type]


def _forget_experiment() -> None:
    # mlflow.set_experiment records its choice in the environment, too.
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        os.environ.pop(name, None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app called in process, with no port (raises any exception the app lets out)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://orchard") as client:
        yield client
