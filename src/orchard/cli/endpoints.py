"""`orchard online-endpoint ...` and `orchard online-deployment ...`, as `az ml` has them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchard.cli import common
from orchard.cli.output import OutputFormat, console, show, show_list
from orchard.entities.loaders import load_online_deployment, load_online_endpoint
from orchard.errors import ValidationError

endpoint_app = typer.Typer(help="Online endpoints: a scoring URI with keys and a traffic split.")
deployment_app = typer.Typer(help="Online deployments: a model served behind an endpoint.")
ENDPOINT_COLUMNS = ["name", "auth_mode", "traffic", "scoring_uri", "provisioning_state"]
DEPLOYMENT_COLUMNS = ["name", "endpoint_name", "instance_count", "provisioning_state"]

Traffic = Annotated[
    str | None,
    typer.Option("--traffic", help='Traffic split, e.g. "blue=90 green=10"'),
]
MirrorTraffic = Annotated[
    str | None, typer.Option("--mirror-traffic", help='Mirrored share, e.g. "green=10"')
]
EndpointName = Annotated[
    str, typer.Option("--endpoint-name", "-e", help="The deployment's endpoint")
]


@endpoint_app.command("create")
def endpoint_create(
    file: common.File = None,
    name: common.Name = None,
    auth_mode: Annotated[str | None, typer.Option("--auth-mode", help="key or aml_token")] = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create an online endpoint from a managedOnlineEndpoint spec; start serving it."""
    fields = {"name": name, "auth_mode": auth_mode}
    endpoint = common.load_spec(load_online_endpoint, file, fields, set_, strict)
    client = common.client(workspace)
    show(client.online_endpoints.begin_create_or_update(endpoint).result(), output)


@endpoint_app.command("update")
def endpoint_update(
    name: common.Name = None,
    file: common.File = None,
    traffic: Traffic = None,
    mirror_traffic: MirrorTraffic = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Change an endpoint: its traffic split (--traffic "blue=0 green=100"), mirror, tags."""
    client = common.client(workspace)
    if file is not None:
        endpoint = common.load_spec(load_online_endpoint, file, {"name": name}, set_, strict)
    elif name is not None:
        endpoint = client.online_endpoints.get(name)
        if set_:
            spec = endpoint.model_dump(mode="json", exclude_none=True, by_alias=True)
            endpoint = common.load_spec(load_online_endpoint, None, spec, set_, strict)
    else:
        raise ValidationError("online-endpoint update needs --name or --file")
    if traffic is not None:
        endpoint.traffic = _shares(traffic, "--traffic")
    if mirror_traffic is not None:
        endpoint.mirror_traffic = _shares(mirror_traffic, "--mirror-traffic")
    show(client.online_endpoints.begin_create_or_update(endpoint).result(), output)


@endpoint_app.command("show")
def endpoint_show(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show an endpoint: its scoring URI, traffic and state."""
    show(common.client(workspace).online_endpoints.get(name), output)


@endpoint_app.command("list")
def endpoint_list(
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List the workspace's online endpoints."""
    show_list(common.client(workspace).online_endpoints.list(), ENDPOINT_COLUMNS, output)


@endpoint_app.command("delete")
def endpoint_delete(
    name: common.RequiredName,
    yes: common.Yes = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete an endpoint and all its deployments; its workers stop."""
    common.confirm(f"Delete online endpoint {name} and its deployments?", yes)
    common.client(workspace).online_endpoints.begin_delete(name).result()
    console.print(f"Deleted online endpoint {name}")


@endpoint_app.command("invoke")
def endpoint_invoke(
    name: common.RequiredName,
    request_file: Annotated[Path, typer.Option("--request-file", "-r", help="JSON file to send")],
    deployment_name: Annotated[
        str | None, typer.Option("--deployment-name", "-d", help="Send to this deployment")
    ] = None,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Score a request through the endpoint (its key is used for you); print the answer."""
    client = common.client(workspace)
    typer.echo(client.online_endpoints.invoke(name, request_file, deployment_name))


@endpoint_app.command("get-credentials")
def endpoint_credentials(
    name: common.RequiredName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.json,
) -> None:
    """The endpoint's primary and secondary keys."""
    show(common.client(workspace).online_endpoints.get_keys(name), output)


@endpoint_app.command("regenerate-keys")
def endpoint_regenerate(
    name: common.RequiredName,
    key_type: Annotated[str, typer.Option("--key-type", help="primary or secondary")] = "primary",
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Replace one of the endpoint's keys; the old one stops working."""
    common.client(workspace).online_endpoints.begin_regenerate_keys(name, key_type=key_type)
    console.print(f"Regenerated the {key_type} key of {name}")


@deployment_app.command("create")
def deployment_create(
    file: common.File = None,
    name: common.Name = None,
    endpoint_name: Annotated[str | None, typer.Option("--endpoint-name", "-e")] = None,
    all_traffic: Annotated[
        bool, typer.Option("--all-traffic", help="Send all the endpoint's traffic to it")
    ] = False,
    set_: common.Set = None,
    strict: common.Strict = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create a deployment from a managedOnlineDeployment spec; wait until it answers."""
    fields = {"name": name, "endpoint_name": endpoint_name}
    deployment = common.load_spec(load_online_deployment, file, fields, set_, strict)
    client = common.client(workspace)
    created = client.online_deployments.begin_create_or_update(deployment).result()
    if all_traffic:
        endpoint = client.online_endpoints.get(created.endpoint_name)
        endpoint.traffic = {created.name: 100}
        client.online_endpoints.begin_create_or_update(endpoint).result()
    show(created, output)


deployment_app.command("update")(deployment_create)


@deployment_app.command("show")
def deployment_show(
    name: common.RequiredName,
    endpoint_name: EndpointName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a deployment and its state."""
    show(common.client(workspace).online_deployments.get(name, endpoint_name), output)


@deployment_app.command("list")
def deployment_list(
    endpoint_name: EndpointName,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List an endpoint's deployments."""
    found = common.client(workspace).online_deployments.list(endpoint_name)
    show_list(found, DEPLOYMENT_COLUMNS, output)


@deployment_app.command("delete")
def deployment_delete(
    name: common.RequiredName,
    endpoint_name: EndpointName,
    yes: common.Yes = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete a deployment that takes no traffic; its workers stop."""
    common.confirm(f"Delete deployment {name} of {endpoint_name}?", yes)
    common.client(workspace).online_deployments.begin_delete(name, endpoint_name).result()
    console.print(f"Deleted deployment {name}")


@deployment_app.command("get-logs")
def deployment_logs(
    name: common.RequiredName,
    endpoint_name: EndpointName,
    lines: Annotated[int, typer.Option("--lines", "-l", help="Lines from the end")] = 50,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """The last lines of each of the deployment's workers' logs."""
    typer.echo(common.client(workspace).online_deployments.get_logs(name, endpoint_name, lines))


def _shares(text: str, option: str) -> dict[str, int]:
    """`blue=90 green=10` (spaces or commas) as {deployment: percent}."""
    shares: dict[str, int] = {}
    for part in text.replace(",", " ").split():
        name, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValidationError(f"{option} {part!r}: expected deployment=percent")
        shares[name] = int(value)
    return shares
