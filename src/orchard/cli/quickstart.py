"""`orchard quickstart`: Orchard's main path, end to end, on data it ships."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from orchard.cli import common
from orchard.cli.output import OutputFormat, console, show
from orchard.entities.assets import Data, Model
from orchard.entities.endpoints import (
    CodeConfiguration,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
)
from orchard.entities.jobs import CommandJob, Input, Output
from orchard.entities.workspace import Workspace
from orchard.errors import NotFound, OrchardError
from orchard.sdk.builders import command
from orchard.sdk.client import MLClient

QUICKSTART_WORKSPACE = "quickstart"
DATA_NAME = "iris"
MODEL_NAME = "iris-classifier"
ENDPOINT_NAME = "iris-endpoint"
EXPERIMENT = "quickstart"
SAMPLE = {"sepal_length": 6.1, "sepal_width": 2.8, "petal_length": 4.7, "petal_width": 1.2}


def quickstart(
    workspace: Annotated[
        str, typer.Option("--workspace-name", "-w", help="Workspace to use")
    ] = QUICKSTART_WORKSPACE,
) -> None:
    """Workspace, data asset, tracked training job, registered model, an online endpoint
    serving it, and a request scored through that endpoint."""
    client = common.client(workspace, create_workspace=False)
    console.print(Panel.fit(f"Orchard quickstart\nstore: {client.settings.home}", style="green"))
    _ensure_workspace(client, workspace)
    data = _register_data(client)
    job = _train(client, data)
    _show_metrics(client, job)
    model = client.models.get(MODEL_NAME, label="latest")
    console.print(f"[bold]5.[/] Registered model [cyan]{model.name}:{model.version}[/]")
    show(model, OutputFormat.table)
    _serve(client, model)
    console.print(
        f"\nNext: [bold]orchard job show -n {job.name} -w {workspace}[/], "
        f"[bold]orchard job list --experiment {EXPERIMENT} -w {workspace}[/], "
        f"[bold]orchard online-endpoint invoke -n {ENDPOINT_NAME} -r request.json -w "
        f"{workspace}[/]; the endpoint serves until "
        f"[bold]orchard online-endpoint delete -n {ENDPOINT_NAME} -w {workspace}[/]"
    )


def _ensure_workspace(client: MLClient, workspace: str) -> None:
    try:
        client.workspaces.get(workspace)
        console.print(f"[bold]1.[/] Workspace [cyan]{workspace}[/] already exists")
    except NotFound:
        client.workspaces.begin_create(Workspace(name=workspace, description="Orchard quickstart"))
        console.print(f"[bold]1.[/] Created workspace [cyan]{workspace}[/]")


def _register_data(client: MLClient) -> Data:
    data = client.data.create_or_update(
        Data(
            name=DATA_NAME,
            type="uri_file",
            path=str(_shipped("iris.csv")),
            description="Fisher's Iris measurements (shipped with Orchard)",
            tags={"source": "orchard-quickstart"},
        )
    )
    console.print(f"[bold]2.[/] Registered data asset [cyan]{data.name}:{data.version}[/]")
    show(data, OutputFormat.table)
    from orchard.cli.profile_view import render_profile  # pulls in pyarrow

    render_profile(client.data.profile(DATA_NAME, data.version), OutputFormat.table)
    return data


def _train(client: MLClient, data: Data) -> CommandJob:
    job = client.jobs.create_or_update(
        command(
            code=str(_shipped("train")),
            command="python train.py --data ${{inputs.iris}} --C ${{inputs.C}} "
            "--model_output ${{outputs.model}}",
            inputs={
                "iris": Input(type="uri_file", path=f"azureml:{DATA_NAME}:{data.version}"),
                "C": 1.0,
            },
            outputs={"model": Output(type="custom_model", name=MODEL_NAME)},
            experiment_name=EXPERIMENT,
            display_name="train-iris",
        )
    )
    console.print(f"[bold]3.[/] Training job [cyan]{job.name}[/], its log:")
    done = client.jobs.stream(job.name or "", out=sys.stdout)
    if done.status != "Completed":
        raise OrchardError(f"the training job {job.name} ended {done.status}: {done.error}")
    assert isinstance(done, CommandJob)
    return done


def _show_metrics(client: MLClient, job: CommandJob) -> None:
    name = job.name or ""
    table = Table("metric", "final value", title=f"[bold]4.[/] Metrics of {name}")
    for metric in sorted(client.jobs.run_data([name])[name].metrics, key=lambda m: m.key):
        table.add_row(metric.key, f"{metric.value:.4f}")
    console.print(table)
    chart = Table("step", "accuracy", "", title="learning curve", box=None)
    for point in client.jobs.metric_history(name, "accuracy"):
        chart.add_row(str(point.step), f"{point.value:.3f}", "█" * round(point.value * 40))
    console.print(chart)


def _serve(client: MLClient, model: Model) -> None:
    """Deploy the model behind an online endpoint and score a request through it."""
    endpoint = ManagedOnlineEndpoint(name=ENDPOINT_NAME, description="Orchard quickstart")
    client.online_endpoints.begin_create_or_update(endpoint).result()
    deployment = ManagedOnlineDeployment(
        name="blue",
        endpoint_name=ENDPOINT_NAME,
        model=f"azureml:{model.name}:{model.version}",
        code_configuration=CodeConfiguration(
            code=str(_shipped("score")), scoring_script="score.py"
        ),
        instance_count=1,
    )
    client.online_deployments.begin_create_or_update(deployment).result()
    endpoint.traffic = {"blue": 100}
    served = client.online_endpoints.begin_create_or_update(endpoint).result()
    console.print(
        f"[bold]6.[/] Deployed {model.name}:{model.version} to online endpoint "
        f"[cyan]{ENDPOINT_NAME}[/] at {served.scoring_uri}"
    )
    answer = client.online_endpoints.invoke(ENDPOINT_NAME, request={"data": [SAMPLE]})
    console.print(f"[bold]7.[/] Scored a request: {SAMPLE} -> [green]{answer}[/]")


def _shipped(name: str) -> Path:
    return Path(str(resources.files("orchard") / "quickstart_data" / name))
