"""`orchard job ...`: submit, follow, cancel and download jobs, as `az ml job` does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchard.cli import common
from orchard.cli.output import OutputFormat, console, show, show_list
from orchard.entities.jobs import JobStatus
from orchard.entities.loaders import load_job
from orchard.sdk.client import MLClient

job_app = typer.Typer(help="Jobs: run a script with its inputs, environment and tracking.")
JOB_COLUMNS = ["name", "display_name", "status", "experiment_name", "compute"]


@job_app.command("create")
def job_create(
    file: common.File = None,
    name: common.Name = None,
    set_: common.Set = None,
    stream: Annotated[
        bool, typer.Option("--stream", "-s", help="Follow the logs to the end")
    ] = False,
    experiment_name: Annotated[str | None, typer.Option("--experiment-name", "-e")] = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Submit a job from an Azure ML commandJob spec; --stream follows its logs."""
    job = common.load_spec(load_job, file, {"name": name}, set_, strict)
    client = common.client(workspace)
    created = client.jobs.create_or_update(job, experiment_name=experiment_name)
    show(created, output)
    if stream:
        assert created.name is not None
        _follow(client, created.name)


@job_app.command("stream")
def job_stream(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Follow a job's logs until it ends; exit non-zero unless it completed."""
    _follow(common.client(workspace), name)


@job_app.command("show")
def job_show(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a job: its spec, status, times and how it ended."""
    show(common.client(workspace).jobs.get(name), output)


@job_app.command("list")
def job_list(
    experiment_name: Annotated[
        str | None, typer.Option("--experiment-name", "--experiment")
    ] = None,
    parent_job_name: Annotated[str | None, typer.Option("--parent-job-name", "-p")] = None,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List jobs, newest first."""
    jobs = common.client(workspace).jobs.list(
        experiment_name=experiment_name, parent_job_name=parent_job_name
    )
    show_list(jobs, JOB_COLUMNS, output)


@job_app.command("cancel")
def job_cancel(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Cancel a job: its command gets SIGTERM, then SIGKILL after a grace period."""
    show(common.client(workspace).jobs.cancel(name), output)


@job_app.command("download")
def job_download(
    name: common.RequiredName,
    download_path: Annotated[Path, typer.Option("--download-path", "-p")] = Path("."),
    output_name: Annotated[str | None, typer.Option("--output-name")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every named output too")] = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Download a job's artifacts and logs (and named outputs)."""
    target = common.client(workspace).jobs.download(
        name, download_path, output_name=output_name, all=all_
    )
    console.print(f"Downloaded job {name} to {target}")


def _follow(client: MLClient, name: str) -> None:
    console.print(f"[bold]Streaming logs of job {name}[/]", highlight=False)
    job = client.jobs.stream(name)
    colour = "green" if job.status == JobStatus.COMPLETED else "red"
    console.print(f"\n[bold {colour}]Job {name}: {job.status}[/]", highlight=False)
    if job.error:
        console.print(f"[red]{job.error.get('message', '')}[/]", highlight=False)
    if job.status != JobStatus.COMPLETED:
        raise typer.Exit(1)
