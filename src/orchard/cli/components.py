"""`orchard component ...`: register and inspect components, as `az ml component` does."""

from __future__ import annotations

import typer

from orchard.cli import common
from orchard.cli.assets import add_common_commands
from orchard.cli.output import OutputFormat, show
from orchard.cli.progress import upload_progress
from orchard.entities.loaders import load_component

COMPONENT_COLUMNS = ["name", "version", "type", "display_name", "description"]

component_app = typer.Typer(help="Components: versioned, typed steps for pipelines.")


@component_app.command("create")
def component_create(
    file: common.File = None,
    name: common.Name = None,
    version: common.Version = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Register a component from a commandComponent or pipelineComponent spec (-f)."""
    component = common.load_spec(
        load_component, file, {"name": name, "version": version}, set_, strict
    )
    client = common.client(workspace)
    with upload_progress(f"Uploading {component.name}") as progress:
        created = client.components.create(component, progress=progress)
    show(created, output)


add_common_commands(component_app, "component", COMPONENT_COLUMNS)
