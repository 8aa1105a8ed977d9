"""The `orchard` command: groups mirror `az ml`; errors print one line and exit non-zero.

The command groups are imported when they are registered, just before the command line
is parsed; `orchard server` registers only itself, so a server starts without importing
the rest of the CLI (and the SDK under it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from orchard.cli.output import console, errors
from orchard.config import HOME_DIR_NAME
from orchard.errors import Conflict, NotFound, OrchardError, PermissionDenied, ValidationError

app = typer.Typer(
    name="orchard",
    help="Orchard: a self-hosted machine-learning workspace (Azure ML specs, MLflow API).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Exit codes scripts can tell apart; 2 is also what click uses for bad usage.
EXIT_CODES: list[tuple[type[OrchardError], int]] = [
    (ValidationError, 2),
    (NotFound, 3),
    (Conflict, 4),
    (PermissionDenied, 5),
]


def init(
    path: Annotated[Path, typer.Argument(help="Folder to hold the .orchard store")] = Path("."),
) -> None:
    """Create a `.orchard/` store here; commands run below this folder will use it."""
    home = path.resolve() / HOME_DIR_NAME
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    console.print(f"Orchard store at {home}")


def version() -> None:
    """Print Orchard's version."""
    from orchard import __version__

    console.print(__version__)


def exit_code(error: OrchardError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 1


def register_commands(only: str | None = None) -> None:
    """Add the commands to `app`, in the order help lists them. `only="server"` adds the
    server and the commands defined here, which import nothing more (with two or more
    commands, typer keeps `orchard server ...` a subcommand)."""
    from orchard.cli.server import server

    if only == "server":
        for name, command in (("server", server), ("init", init), ("version", version)):
            app.command(name)(command)
        return
    from orchard.cli.assets import data_app, environment_app, model_app
    from orchard.cli.batch_endpoints import deployment_app as batch_deployment_app
    from orchard.cli.batch_endpoints import endpoint_app as batch_endpoint_app
    from orchard.cli.components import component_app
    from orchard.cli.endpoints import deployment_app, endpoint_app
    from orchard.cli.jobs import job_app
    from orchard.cli.quickstart import quickstart
    from orchard.cli.resources import compute_app, datastore_app, workspace_app
    from orchard.cli.schedules import schedule_app

    app.add_typer(workspace_app, name="workspace")
    app.add_typer(datastore_app, name="datastore")
    app.add_typer(data_app, name="data")
    app.add_typer(model_app, name="model")
    app.add_typer(environment_app, name="environment")
    app.add_typer(compute_app, name="compute")
    app.add_typer(component_app, name="component")
    app.add_typer(job_app, name="job")
    app.add_typer(schedule_app, name="schedule")
    app.add_typer(endpoint_app, name="online-endpoint")
    app.add_typer(deployment_app, name="online-deployment")
    app.add_typer(batch_endpoint_app, name="batch-endpoint")
    app.add_typer(batch_deployment_app, name="batch-deployment")
    app.command("quickstart")(quickstart)
    app.command("server")(server)
    app.command("init")(init)
    app.command("version")(version)


def main() -> None:
    """Click handles usage errors itself (exit 2); Orchard's errors print one line."""
    try:
        register_commands("server" if sys.argv[1:2] == ["server"] else None)
        app()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
        if isinstance(done.code, str):
            errors.print(done.code, highlight=False, soft_wrap=True)
    except OrchardError as error:
        errors.print(f"[red]Error:[/] {error.message}", highlight=False, soft_wrap=True)
        code = exit_code(error)
    _exit_now(code)


def _exit_now(code: int) -> None:
    """Exit without interpreter teardown, once output is flushed and the work committed:
    Arrow's thread pools can abort a process in that teardown (apache/arrow#34314),
    turning a finished command into a crash."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
