"""The FastAPI app: MLflow's REST API over Orchard's services.

Every route family is served under `/api/2.0/mlflow` and, for the MLflow UI, its
`/ajax-api/2.0/mlflow` twin; the artifact proxy under `/api/2.0/mlflow-artifacts`.
The same set is served again under `/workspaces/{workspace}`, so a client pointed at
`http://host:port/workspaces/team-a` works in workspace `team-a`; the root routes work
in the server's default workspace. The routes are registered once, under `/api`: the
`CanonicalPaths` middleware maps the other spellings onto them before routing.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from orchard.server.mlflow import (
    artifacts,
    experiments,
    logged_models,
    meta,
    metrics,
    model_versions,
    registry,
    runs,
)
from orchard.server.mlflow.errors import install_error_handlers
from orchard.server.mlflow.messages import MlflowJSONResponse
from orchard.server.paths import CanonicalPaths
from orchard.services import Services

TRACKING_ROUTERS = (
    experiments.router,
    runs.router,
    metrics.router,
    registry.router,
    model_versions.router,
    logged_models.router,
    artifacts.tracking,
)


def create_app(services: Services, *, default_workspace: str = "default") -> FastAPI:
    """The app over `services`; the default workspace is created if it does not exist."""
    services.workspaces.ensure(default_workspace)
    app = FastAPI(
        title="Orchard",
        description="The MLflow REST API over an Orchard store",
        default_response_class=MlflowJSONResponse,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services
    app.state.default_workspace = default_workspace
    install_error_handlers(app)
    app.add_middleware(CanonicalPaths)
    app.include_router(_routes())
    return app


def _routes() -> APIRouter:
    routes = APIRouter()
    routes.include_router(meta.router)
    for router in TRACKING_ROUTERS:
        routes.include_router(router, prefix="/api/2.0/mlflow")
    routes.include_router(artifacts.proxy, prefix="/api/2.0/mlflow-artifacts")
    routes.include_router(artifacts.downloads)
    return routes
