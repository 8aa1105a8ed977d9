"""`orchard server`: the MLflow tracking and registry API over a store, with uvicorn.

Point the stock client at it with `mlflow.set_tracking_uri("http://host:port")`, or at
`http://host:port/workspaces/<name>` for another workspace than `--workspace`.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer


def server(
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on")] = 5000,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Store (default: ORCHARD_DATABASE_URL or .orchard/)"),
    ] = None,
    artifact_root: Annotated[
        Path | None,
        typer.Option("--artifact-root", help="Folder for the workspaces' files and artifacts"),
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="Workspace of the root routes (default: config)"),
    ] = None,
    scheduler: Annotated[
        bool, typer.Option("--scheduler/--no-scheduler", help="Fire the workspaces' schedules")
    ] = True,
) -> None:
    """Serve the MLflow REST API (tracking, model registry, artifacts) over Orchard, and
    fire the workspaces' schedules."""
    # Imported here: the other commands never pay for the server's imports.
    import uvicorn

    from orchard.agent.scheduler import Scheduler
    from orchard.config import Settings
    from orchard.server.app import create_app
    from orchard.services import Services

    settings = Settings.discover(workspace=workspace, database_url=database_url)
    services = Services.open(
        settings, storage_root=artifact_root.resolve() if artifact_root else None
    )
    firing = Scheduler(services).start() if scheduler else None
    try:
        app = create_app(services, default_workspace=settings.workspace)
        # What start-up built (modules, schemas, the app) lives as long as the server: set
        # it aside from the cyclic garbage collector, which would otherwise walk all of it
        # again in each full collection that a busy server's requests set off.
        gc.freeze()
        typer.echo(f"Orchard serves the MLflow API at http://{host}:{port} ({settings.workspace})")
        uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off")
    finally:
        if firing is not None:
            firing.stop()
        services.close()
