"""`orchard workspace|datastore|compute ...`: named resources."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from orchard.cli import common
from orchard.cli.output import OutputFormat, console, show, show_list
from orchard.config import write_default_workspace
from orchard.entities.loaders import load_compute, load_datastore, load_workspace

workspace_app = typer.Typer(help="Workspaces: each a scope of its own in the store.")
datastore_app = typer.Typer(help="Datastores: where data lives (folders, blob, ADLS, S3, GCS).")
compute_app = typer.Typer(help="Compute targets jobs run on.")


@workspace_app.command("create")
def workspace_create(
    positional_name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Workspace name (or --name)")
    ] = None,
    name: common.Name = None,
    file: common.File = None,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    description: common.Description = None,
    set_default: Annotated[
        bool, typer.Option("--set-default", help="Make it the default for this home")
    ] = False,
    set_: common.Set = None,
    strict: common.Strict = False,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create a workspace in the local store (or the store ORCHARD_DATABASE_URL names)."""
    fields = {
        "name": name or positional_name,
        "display_name": display_name,
        "description": description,
    }
    workspace = common.load_spec(load_workspace, file, fields, set_, strict)
    client = common.client(workspace.name, create_workspace=False)
    created = client.workspaces.begin_create(workspace).result()
    if set_default:
        write_default_workspace(client.settings.home, created.name)
    show(created, output)


@workspace_app.command("list")
def workspace_list(
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List the workspaces in the store."""
    client = common.client(None, create_workspace=False)
    show_list(client.workspaces.list(), ["name", "display_name", "description"], output)


@workspace_app.command("show")
def workspace_show(
    name: common.Name = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a workspace (the current one without --name)."""
    client = common.client(name, create_workspace=name is None)
    show(client.workspaces.get(name), output)


@workspace_app.command("update")
def workspace_update(
    name: common.RequiredName,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    description: common.Description = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Change a workspace's display name or description."""
    client = common.client(name, create_workspace=False)
    current = client.workspaces.get(name)
    changes = {
        k: v
        for k, v in {"display_name": display_name, "description": description}.items()
        if v is not None
    }
    show(client.workspaces.begin_update(current.model_copy(update=changes)).result(), output)


@workspace_app.command("delete")
def workspace_delete(
    name: common.RequiredName,
    yes: common.Yes = False,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete a workspace's metadata (its files stay on disk)."""
    common.confirm(f"Delete workspace {name!r} and every asset it holds?", yes)
    client = common.client(name, create_workspace=False)
    client.workspaces.begin_delete(name).result()
    console.print(f"Deleted workspace {name}")


@datastore_app.command("create")
def datastore_create(
    file: common.File = None,
    name: common.Name = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create or update a datastore from a spec; credentials are stored encrypted."""
    datastore = common.load_spec(load_datastore, file, {"name": name}, set_, strict)
    show(common.client(workspace).datastores.create_or_update(datastore), output)


@datastore_app.command("update")
def datastore_update(
    file: common.File = None,
    name: common.Name = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Update a datastore from a spec (masked credentials keep their stored values)."""
    datastore_create(file, name, set_, strict, workspace, resource_group, output)


@datastore_app.command("list")
def datastore_list(
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List datastores."""
    items = common.client(workspace).datastores.list()
    show_list(items, ["name", "type", "is_default", "description"], output)


@datastore_app.command("show")
def datastore_show(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a datastore; secrets are masked."""
    show(common.client(workspace).datastores.get(name), output)


@datastore_app.command("delete")
def datastore_delete(
    name: common.RequiredName,
    yes: common.Yes = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete a datastore's registration (the data itself is untouched)."""
    common.confirm(f"Delete datastore {name!r}?", yes)
    common.client(workspace).datastores.delete(name)
    console.print(f"Deleted datastore {name}")


@compute_app.command("create")
def compute_create(
    file: common.File = None,
    name: common.Name = None,
    type: Annotated[
        str | None, typer.Option("--type", "-t", help="amlcompute, local, ray...")
    ] = None,
    size: Annotated[str | None, typer.Option("--size", help="VM size (recorded)")] = None,
    min_instances: Annotated[int | None, typer.Option("--min-instances")] = None,
    max_instances: Annotated[int | None, typer.Option("--max-instances")] = None,
    idle_time_before_scale_down: Annotated[
        int | None, typer.Option("--idle-time-before-scale-down")
    ] = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create or update a compute target from a spec or flags."""
    fields: dict[str, Any] = {
        "name": name,
        "type": type,
        "size": size,
        "min_instances": min_instances,
        "max_instances": max_instances,
        "idle_time_before_scale_down": idle_time_before_scale_down,
    }
    compute = common.load_spec(load_compute, file, fields, set_, strict)
    show(common.client(workspace).compute.begin_create_or_update(compute).result(), output)


@compute_app.command("list")
def compute_list(
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List compute targets."""
    items = common.client(workspace).compute.list()
    show_list(items, ["name", "type", "size", "min_instances", "max_instances"], output)


@compute_app.command("show")
def compute_show(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a compute target."""
    show(common.client(workspace).compute.get(name), output)


@compute_app.command("delete")
def compute_delete(
    name: common.RequiredName,
    yes: common.Yes = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete a compute target."""
    common.confirm(f"Delete compute {name!r}?", yes)
    common.client(workspace).compute.begin_delete(name).result()
    console.print(f"Deleted compute {name}")
