"""`orchard quickstart`: Orchard's main path, end to end, on data it ships."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from orchard.cli import common
from orchard.cli.output import OutputFormat, console, show
from orchard.entities.assets import Data
from orchard.entities.workspace import Workspace
from orchard.errors import NotFound

QUICKSTART_WORKSPACE = "quickstart"
DATA_NAME = "iris"


def quickstart(
    workspace: Annotated[
        str, typer.Option("--workspace-name", "-w", help="Workspace to use")
    ] = QUICKSTART_WORKSPACE,
) -> None:
    """Create a local workspace, register the shipped Iris CSV as a data asset, show it."""
    client = common.client(workspace, create_workspace=False)
    console.print(Panel.fit(f"Orchard quickstart\nstore: {client.settings.home}", style="green"))
    try:
        client.workspaces.get(workspace)
        console.print(f"[bold]1.[/] Workspace [cyan]{workspace}[/] already exists")
    except NotFound:
        client.workspaces.begin_create(Workspace(name=workspace, description="Orchard quickstart"))
        console.print(f"[bold]1.[/] Created workspace [cyan]{workspace}[/]")

    csv = Path(str(resources.files("orchard") / "quickstart_data" / "iris.csv"))
    data = client.data.create_or_update(
        Data(
            name=DATA_NAME,
            type="uri_file",
            path=str(csv),
            description="Fisher's Iris measurements (shipped with Orchard)",
            tags={"source": "orchard-quickstart"},
        )
    )
    console.print(f"[bold]2.[/] Registered data asset [cyan]{data.name}:{data.version}[/]")
    show(data, OutputFormat.table)
    from orchard.cli.profile_view import render_profile  # pulls in pyarrow

    console.print("[bold]3.[/] Profile of the data:")
    render_profile(client.data.profile(DATA_NAME, data.version), OutputFormat.table)
    console.print(
        f"\nNext: [bold]orchard data list -w {workspace}[/], "
        f"[bold]orchard data show -n {DATA_NAME} -w {workspace}[/]"
    )
