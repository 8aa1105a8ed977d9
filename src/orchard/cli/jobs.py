"""`orchard job ...`: submit, follow, cancel and download jobs, as `az ml job` does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchard.cli import common
from orchard.cli.job_views import job_rows, needs_run_data, parse_columns, render_comparison
from orchard.cli.output import OutputFormat, console, show, show_list
from orchard.cli.pipeline_views import show_pipeline
from orchard.entities.job_types import Job
from orchard.entities.jobs import JobStatus
from orchard.entities.loaders import load_job
from orchard.entities.pipelines import PipelineJob
from orchard.sdk.client import MLClient

job_app = typer.Typer(help="Jobs: run a script with its inputs, environment and tracking.")
JOB_COLUMNS = ["name", "display_name", "status", "experiment_name", "compute"]
LISTED_WITH_COLUMNS = ["name", "status", "experiment_name"]


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
    strict_environments: Annotated[
        bool,
        typer.Option(
            "--strict-environments",
            help="Fail rather than move a pinned package that has no release for this Python",
        ),
    ] = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Submit a job from an Azure ML commandJob spec; --stream follows its logs."""
    job = common.load_spec(load_job, file, {"name": name}, set_, strict)
    client = common.client(workspace)
    created = client.jobs.create_or_update(
        job, experiment_name=experiment_name, strict_environments=strict_environments
    )
    show_job(client, created, output)
    if stream:
        assert created.name is not None
        follow_job(client, created.name)


@job_app.command("stream")
def job_stream(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Follow a job's logs until it ends; exit non-zero unless it completed."""
    follow_job(common.client(workspace), name)


@job_app.command("show")
def job_show(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a job: its spec, status, times and how it ended; a pipeline with its graph."""
    client = common.client(workspace)
    show_job(client, client.jobs.get(name), output)


def show_job(client: MLClient, job: Job, output: OutputFormat) -> None:
    if isinstance(job, PipelineJob) and job.name:
        show_pipeline(job, client.jobs.graph(job.name), output)
    else:
        show(job, output)


@job_app.command("list")
def job_list(
    experiment_name: Annotated[
        str | None,
        typer.Option("--experiment-name", "--experiment", help="Only this experiment's jobs"),
    ] = None,
    parent_job_name: Annotated[str | None, typer.Option("--parent-job-name", "-p")] = None,
    filter_: Annotated[
        str | None,
        typer.Option(
            "--filter",
            help="MLflow search filter, e.g. \"metrics.accuracy > 0.9 and params.lr = '0.01'\"",
        ),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", help="e.g. 'metrics.accuracy DESC' (repeatable)"),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns",
            "-c",
            help="Extra columns, comma-separated: inputs.<name>, params.<key>, metrics.<key>, "
            "tags.<key>",
        ),
    ] = None,
    max_results: Annotated[int | None, typer.Option("--max-results", "-r", min=1)] = None,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List jobs, newest first (or as --order-by says), filtered with MLflow's syntax."""
    extra = parse_columns(columns)
    client = common.client(workspace)
    jobs = client.jobs.list(
        experiment_name=experiment_name,
        parent_job_name=parent_job_name,
        filter=filter_,
        order_by=order_by,
        max_results=max_results,
    )
    if not extra:
        show_list(jobs, JOB_COLUMNS, output)
        return
    names = [job.name for job in jobs if job.name]
    data = client.jobs.run_data(names) if names and needs_run_data(extra) else {}
    show_list(job_rows(jobs, extra, data), [*LISTED_WITH_COLUMNS, *extra], output)


@job_app.command("compare")
def job_compare(
    names: Annotated[list[str], typer.Argument(help="Jobs to compare, one column each")],
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Params and latest metrics of jobs side by side; rows that differ are highlighted."""
    render_comparison(common.client(workspace).jobs.compare(names), output)


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


def follow_job(client: MLClient, name: str) -> None:
    console.print(f"[bold]Streaming logs of job {name}[/]", highlight=False)
    job = client.jobs.stream(name)
    colour = "green" if job.status == JobStatus.COMPLETED else "red"
    console.print(f"\n[bold {colour}]Job {name}: {job.status}[/]", highlight=False)
    if job.error:
        console.print(f"[red]{job.error.get('message', '')}[/]", highlight=False)
    if job.status != JobStatus.COMPLETED:
        raise typer.Exit(1)
