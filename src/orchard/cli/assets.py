"""`orchard data|model|environment ...`: the versioned asset commands of `az ml`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from orchard.cli import common
from orchard.cli.lineage_views import render_lineage, render_used_by
from orchard.cli.output import OutputFormat, console, show, show_list
from orchard.cli.progress import upload_progress
from orchard.entities.assets import Data, Environment, Model
from orchard.entities.base import Asset
from orchard.entities.loaders import load_data, load_environment, load_model
from orchard.sdk.operations.assets import AssetOperations, ListViewType

LIST_COLUMNS = ["name", "version", "type", "path", "description"]
ENV_COLUMNS = ["name", "version", "image", "description"]

data_app = typer.Typer(help="Data assets: versioned files, folders and MLTables.")
model_app = typer.Typer(help="Models: versioned model files with their lineage.")
environment_app = typer.Typer(help="Environments: the software a job runs in.")


def _ops(kind: str, workspace: str | None) -> AssetOperations[Any]:
    client = common.client(workspace)
    operations: dict[str, AssetOperations[Any]] = {
        "data": client.data,
        "model": client.models,
        "environment": client.environments,
        "component": client.components,
    }
    return operations[kind]


def _create(
    kind: str,
    loader: Callable[..., Asset],
    fields: dict[str, Any],
    file: Path | None,
    overrides: list[str] | None,
    strict: bool,
    tags: list[str] | None,
    workspace: str | None,
    output: OutputFormat,
) -> None:
    asset = common.load_spec(loader, file, fields, overrides, strict)
    if tags:
        asset = asset.model_copy(
            update={"tags": {**asset.tags, **common.parse_pairs(tags, "--tags")}}
        )
    ops = _ops(kind, workspace)
    with upload_progress(f"Uploading {asset.name}") as progress:
        created = ops.create(asset, progress=progress)
    show(created, output)


@data_app.command("create")
def data_create(
    file: common.File = None,
    name: common.Name = None,
    version: common.Version = None,
    type: Annotated[
        str | None, typer.Option("--type", "-t", help="uri_file, uri_folder or mltable")
    ] = None,
    path: Annotated[str | None, typer.Option("--path", "-p", help="Local path or URI")] = None,
    datastore: Annotated[str | None, typer.Option("--datastore", help="Upload target")] = None,
    description: common.Description = None,
    tags: common.Tags = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Register a data asset from a spec (-f) or from flags; local paths are uploaded."""
    fields = {
        "name": name,
        "version": version,
        "type": type,
        "path": path,
        "datastore": datastore,
        "description": description,
    }
    _create("data", load_data, fields, file, set_, strict, tags, workspace, output)


@model_app.command("create")
def model_create(
    file: common.File = None,
    name: common.Name = None,
    version: common.Version = None,
    type: Annotated[
        str | None,
        typer.Option("--type", "-t", help="custom_model, mlflow_model or triton_model"),
    ] = None,
    path: Annotated[str | None, typer.Option("--path", "-p", help="Local path or URI")] = None,
    description: common.Description = None,
    tags: common.Tags = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Register a model from a spec (-f) or from flags; local paths are uploaded."""
    fields = {
        "name": name,
        "version": version,
        "type": type,
        "path": path,
        "description": description,
    }
    _create("model", load_model, fields, file, set_, strict, tags, workspace, output)


@environment_app.command("create")
def environment_create(
    file: common.File = None,
    name: common.Name = None,
    version: common.Version = None,
    image: Annotated[str | None, typer.Option("--image", "-i", help="Base image")] = None,
    conda_file: Annotated[
        str | None, typer.Option("--conda-file", "-c", help="Conda YAML file")
    ] = None,
    build_context: Annotated[
        str | None, typer.Option("--build-context", "-b", help="Docker build folder")
    ] = None,
    dockerfile_path: Annotated[
        str | None, typer.Option("--dockerfile-path", help="Dockerfile inside the build folder")
    ] = None,
    os_type: Annotated[str | None, typer.Option("--os-type", help="linux or windows")] = None,
    description: common.Description = None,
    tags: common.Tags = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Register an environment from a spec (-f) or from flags."""
    fields: dict[str, Any] = {
        "name": name,
        "version": version,
        "image": image,
        "conda_file": conda_file,
        "os_type": os_type,
        "description": description,
    }
    if build_context:
        build = {"path": build_context, "dockerfile_path": dockerfile_path or "Dockerfile"}
        fields["build"] = build
    _create("environment", load_environment, fields, file, set_, strict, tags, workspace, output)


def add_common_commands(
    app: typer.Typer, kind: str, columns: list[str], *, with_show: bool = True
) -> None:
    """list, show, update, archive, restore: the same for every versioned kind (data and
    model have a show of their own, with lineage)."""

    @app.command("list")
    def list_(
        name: common.Name = None,
        archived_only: Annotated[bool, typer.Option("--archived-only")] = False,
        include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
        tags: common.Tags = None,
        workspace: common.Workspace = None,
        resource_group: common.ResourceGroup = None,
        output: common.Output = OutputFormat.table,
    ) -> None:
        """List the latest version of each asset, or every version of --name."""
        view = (
            ListViewType.ARCHIVED_ONLY
            if archived_only
            else ListViewType.ALL
            if include_archived
            else ListViewType.ACTIVE_ONLY
        )
        items = _ops(kind, workspace).list(name, list_view_type=view, tags=_tag_filter(tags))
        show_list(items, columns, output)

    if with_show:

        @app.command("show")
        def show_(
            name: common.RequiredName,
            version: common.Version = None,
            label: common.Label = None,
            tags: common.Tags = None,
            workspace: common.Workspace = None,
            resource_group: common.ResourceGroup = None,
            output: common.Output = OutputFormat.table,
        ) -> None:
            """Show one version (the latest unless --version, --label or --tag picks one)."""
            show(_ops(kind, workspace).get(name, version, label, tags=_tag_filter(tags)), output)

    @app.command("update")
    def update(
        name: common.RequiredName,
        version: Annotated[str, typer.Option("--version", "-v", help="Version")],
        set_: common.Set = None,
        description: common.Description = None,
        tags: common.Tags = None,
        stage: Annotated[str | None, typer.Option("--stage", help="Stage")] = None,
        workspace: common.Workspace = None,
        resource_group: common.ResourceGroup = None,
        output: common.Output = OutputFormat.table,
    ) -> None:
        """Change description, tags, properties or stage (`--set tags.team=vision`)."""
        ops = _ops(kind, workspace)
        current = ops.get(name, version)
        changes = _changes(current, set_ or [], description, tags, stage)
        show(ops.update(name, version, **changes), output)

    for verb in ("archive", "restore"):
        _add_archive_command(app, kind, verb)


def _add_archive_command(app: typer.Typer, kind: str, verb: str) -> None:
    @app.command(verb)
    def command(
        name: common.RequiredName,
        version: common.Version = None,
        label: common.Label = None,
        workspace: common.Workspace = None,
        resource_group: common.ResourceGroup = None,
    ) -> None:
        ops = _ops(kind, workspace)
        getattr(ops, verb)(name, version, label)
        target = f"{name}:{version}" if version else f"{name}@{label}" if label else name
        console.print(f"{verb.capitalize()}d {kind} {target}")

    command.__doc__ = f"{verb.capitalize()} one version, or (without --version) the whole {kind}."


def _add_download_command(app: typer.Typer, kind: str) -> None:
    @app.command("download")
    def download(
        name: common.RequiredName,
        version: common.Version = None,
        label: common.Label = None,
        download_path: Annotated[
            Path, typer.Option("--download-path", "-p", help="Folder to write into")
        ] = Path("."),
        workspace: common.Workspace = None,
        resource_group: common.ResourceGroup = None,
    ) -> None:
        """Write the asset's files under DOWNLOAD_PATH/<name>/."""
        ops = _ops(kind, workspace)
        written = ops.download(name, version, label, download_path=download_path)  # type: ignore[attr-defined]
        console.print(f"Downloaded {kind} {name} to {written}")


def _tag_filter(tags: list[str] | None) -> dict[str, str | None] | None:
    """`--tag K=V` (the value must match) or `--tag K` (the tag must be there)."""
    wanted = {k: (v or None) for k, v in common.parse_pairs(tags, "--tag").items()}
    return wanted or None


def _changes(
    current: Asset,
    assignments: list[str],
    description: str | None,
    tags: list[str] | None,
    stage: str | None,
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    new_tags, new_properties = dict(current.tags), dict(current.properties)
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        head, _, rest = key.partition(".")
        if head == "tags" and rest:
            new_tags[rest] = value
        elif head == "properties" and rest:
            new_properties[rest] = value
        else:
            changes[key] = value
    new_tags.update(common.parse_pairs(tags, "--tags"))
    if new_tags != current.tags:
        changes["tags"] = new_tags
    if new_properties != current.properties:
        changes["properties"] = new_properties
    if description is not None:
        changes["description"] = description
    if stage is not None:
        changes["stage"] = stage
    return changes


@model_app.command("show")
def model_show(
    name: common.RequiredName,
    version: common.Version = None,
    label: common.Label = None,
    tags: common.Tags = None,
    lineage: Annotated[
        bool, typer.Option("--lineage", help="The job, code, environment, params and data")
    ] = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show one version (the latest unless --version, --label or --tag picks one)."""
    models = common.client(workspace).models
    model = models.get(name, version, label, tags=_tag_filter(tags))
    if lineage:
        render_lineage(models.lineage(name, model.version), output)
    else:
        show(model, output)


@data_app.command("show")
def data_show(
    name: common.RequiredName,
    version: common.Version = None,
    label: common.Label = None,
    tags: common.Tags = None,
    used_by: Annotated[
        bool, typer.Option("--used-by", help="The jobs that read it and the models they made")
    ] = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show one version (the latest unless --version, --label or --tag picks one)."""
    data = common.client(workspace).data
    asset = data.get(name, version, label, tags=_tag_filter(tags))
    if used_by:
        render_used_by(data.used_by(name, asset.version), output)
    else:
        show(asset, output)


for _app, _kind, _columns in (
    (data_app, "data", LIST_COLUMNS),
    (model_app, "model", LIST_COLUMNS),
    (environment_app, "environment", ENV_COLUMNS),
):
    add_common_commands(_app, _kind, _columns, with_show=_kind == "environment")
_add_download_command(data_app, "data")
_add_download_command(model_app, "model")


@data_app.command("profile")
def data_profile(
    name: common.RequiredName,
    version: common.Version = None,
    workspace: common.Workspace = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Row count, column types, missing and distinct counts, min/max/mean."""
    from orchard.cli.profile_view import render_profile

    client = common.client(workspace)
    render_profile(client.data.profile(name, version), output)


__all__ = ["Data", "Environment", "Model", "data_app", "environment_app", "model_app"]
