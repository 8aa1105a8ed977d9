"""`orchard batch-endpoint ...` and `orchard batch-deployment ...`, as `az ml` has them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from orchard.cli import common
from orchard.cli.jobs import follow_job, show_job
from orchard.cli.output import OutputFormat, console, show, show_list
from orchard.entities.component_loading import resolve_input_paths
from orchard.entities.jobs import Input, InputValue, Output
from orchard.entities.loaders import load_batch_deployment, load_batch_endpoint
from orchard.entities.spec import read_yaml, validate_spec
from orchard.errors import SpecError, ValidationError
from orchard.sdk.operations.batch_endpoints import scored_input

endpoint_app = typer.Typer(help="Batch endpoints: a name that scores data with its deployments.")
deployment_app = typer.Typer(help="Batch deployments: a model or pipeline a batch endpoint runs.")
ENDPOINT_COLUMNS = ["name", "auth_mode", "defaults", "provisioning_state"]
DEPLOYMENT_COLUMNS = ["name", "endpoint_name", "type", "provisioning_state"]
JOB_COLUMNS = ["name", "display_name", "status", "experiment_name"]

EndpointName = Annotated[
    str, typer.Option("--endpoint-name", "--endpoint", "-e", help="The deployment's endpoint")
]
DeploymentName = Annotated[
    str | None, typer.Option("--deployment-name", "-d", help="Not the endpoint's default")
]
SetDefault = Annotated[
    bool, typer.Option("--set-default", help="Make it the endpoint's default deployment")
]


@endpoint_app.command("create")
def endpoint_create(
    file: common.File = None,
    name: common.Name = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create a batch endpoint from a batchEndpoint spec."""
    endpoint = common.load_spec(load_batch_endpoint, file, {"name": name}, set_, strict)
    show(common.client(workspace).batch_endpoints.begin_create_or_update(endpoint).result(), output)


@endpoint_app.command("update")
def endpoint_update(
    name: common.Name = None,
    file: common.File = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Change an endpoint, e.g. --set defaults.deployment_name=<deployment>."""
    client = common.client(workspace)
    if file is not None:
        endpoint = common.load_spec(load_batch_endpoint, file, {"name": name}, set_, strict)
    elif name is not None:
        spec = client.batch_endpoints.get(name).model_dump(mode="json", exclude_none=True)
        endpoint = common.load_spec(load_batch_endpoint, None, spec, set_, strict)
    else:
        raise ValidationError("batch-endpoint update needs --name or --file")
    show(client.batch_endpoints.begin_create_or_update(endpoint).result(), output)


@endpoint_app.command("show")
def endpoint_show(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a batch endpoint and its default deployment."""
    show(common.client(workspace).batch_endpoints.get(name), output)


@endpoint_app.command("list")
def endpoint_list(
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List the workspace's batch endpoints."""
    show_list(common.client(workspace).batch_endpoints.list(), ENDPOINT_COLUMNS, output)


@endpoint_app.command("delete")
def endpoint_delete(
    name: common.RequiredName,
    yes: common.Yes = False,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete a batch endpoint and its deployments; the jobs they ran stay."""
    common.confirm(f"Delete batch endpoint {name} and its deployments?", yes)
    common.client(workspace).batch_endpoints.begin_delete(name).result()
    console.print(f"Deleted batch endpoint {name}")


@endpoint_app.command("invoke")
def endpoint_invoke(
    name: common.RequiredName,
    deployment_name: DeploymentName = None,
    input_: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Data asset (azureml:name@latest), folder, file or URI"),
    ] = None,
    input_type: Annotated[
        str | None, typer.Option("--input-type", help="uri_folder, uri_file or mltable")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="YAML with the inputs: and outputs:")
    ] = None,
    output_path: Annotated[
        str | None, typer.Option("--output-path", help="Where the score output goes")
    ] = None,
    output_file_name: Annotated[str | None, typer.Option("--output-file-name")] = None,
    mini_batch_size: Annotated[int | None, typer.Option("--mini-batch-size")] = None,
    instance_count: Annotated[int | None, typer.Option("--instance-count")] = None,
    experiment_name: Annotated[str | None, typer.Option("--experiment-name")] = None,
    job_name: Annotated[str | None, typer.Option("--job-name")] = None,
    stream: Annotated[
        bool, typer.Option("--stream", "-s", help="Follow the job's logs to the end")
    ] = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Start a batch scoring job over --input (or the inputs of --file); prints the job,
    and with --stream follows its mini-batches to the end."""
    inputs, outputs = _invoke_file(file) if file is not None else ({}, {})
    if input_ is not None:
        inputs["input_data"] = scored_input(input_, input_type)
    if not inputs:
        raise ValidationError("batch-endpoint invoke needs --input or --file with inputs:")
    client = common.client(workspace)
    job = client.batch_endpoints.invoke(
        name,
        deployment_name=deployment_name,
        inputs=inputs,
        outputs=outputs,
        output_path=output_path,
        experiment_name=experiment_name,
        job_name=job_name,
        output_file_name=output_file_name,
        mini_batch_size=mini_batch_size,
        instance_count=instance_count,
    )
    show_job(client, job, output)
    if stream:
        assert job.name is not None
        follow_job(client, job.name)


@endpoint_app.command("list-jobs")
def endpoint_list_jobs(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """The jobs invokes of the endpoint started, newest first."""
    show_list(common.client(workspace).batch_endpoints.list_jobs(name), JOB_COLUMNS, output)


@deployment_app.command("create")
def deployment_create(
    file: common.File = None,
    name: common.Name = None,
    endpoint_name: Annotated[
        str | None, typer.Option("--endpoint-name", "--endpoint", "-e")
    ] = None,
    set_default: SetDefault = False,
    set_: common.Set = None,
    strict: common.Strict = False,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create a deployment from a batchDeployment (type: model) or
    pipelineComponentBatchDeployment (type: pipeline) spec."""
    fields = {"name": name, "endpoint_name": endpoint_name}
    deployment = common.load_spec(load_batch_deployment, file, fields, set_, strict)
    client = common.client(workspace)
    poller = client.batch_deployments.begin_create_or_update(deployment, set_default=set_default)
    show(poller.result(), output)


deployment_app.command("update")(deployment_create)


@deployment_app.command("show")
def deployment_show(
    name: common.RequiredName,
    endpoint_name: EndpointName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a batch deployment."""
    show(common.client(workspace).batch_deployments.get(name, endpoint_name), output)


@deployment_app.command("list")
def deployment_list(
    endpoint_name: EndpointName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List a batch endpoint's deployments."""
    found = common.client(workspace).batch_deployments.list(endpoint_name)
    show_list(found, DEPLOYMENT_COLUMNS, output)


@deployment_app.command("list-jobs")
def deployment_list_jobs(
    name: common.RequiredName,
    endpoint_name: EndpointName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """The jobs the deployment ran, newest first."""
    found = common.client(workspace).batch_deployments.list_jobs(endpoint_name, name)
    show_list(found, JOB_COLUMNS, output)


@deployment_app.command("delete")
def deployment_delete(
    name: common.RequiredName,
    endpoint_name: EndpointName,
    yes: common.Yes = False,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete a batch deployment (not the default while others remain)."""
    common.confirm(f"Delete deployment {name} of {endpoint_name}?", yes)
    common.client(workspace).batch_deployments.begin_delete(name, endpoint_name).result()
    console.print(f"Deleted deployment {name}")


def _invoke_file(path: Path) -> tuple[dict[str, InputValue], dict[str, Output]]:
    """Azure's `--file inputs.yml`: `inputs:` and `outputs:` as a job spec writes them,
    local paths relative to the file."""
    body = read_yaml(path)
    unknown = sorted(set(body) - {"inputs", "outputs"})
    if unknown:
        raise SpecError(f"{path}: only inputs: and outputs: belong here, not {', '.join(unknown)}")
    resolve_input_paths(body.get("inputs"), path.parent)
    inputs = {name: _input(value, path, name) for name, value in (body.get("inputs") or {}).items()}
    outputs = {
        name: validate_spec(Output, value or {}, source=f"{path}: outputs.{name}")
        for name, value in (body.get("outputs") or {}).items()
    }
    return inputs, outputs


def _input(value: Any, path: Path, name: str) -> InputValue:
    if isinstance(value, dict):
        return validate_spec(Input, value, source=f"{path}: inputs.{name}")
    if isinstance(value, (str, int, float, bool)):
        return value
    raise SpecError(f"{path}: inputs.{name}: give a value or a mapping with type and path")
