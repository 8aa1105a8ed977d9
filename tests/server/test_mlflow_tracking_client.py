"""The stock mlflow client against a real Orchard server: experiments, runs, logging,
search, artifacts, and workspaces chosen by the tracking URI."""

from __future__ import annotations

from pathlib import Path

import mlflow
import mlflow.data
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from orchard.entities.workspace import Workspace
from orchard.services import Services

# mlflow's own dataset digest code, not ours, trips pandas' deprecation.
pytestmark = pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")


def test_log_a_run_and_read_it_back(tracking_uri: str) -> None:
    experiment = mlflow.set_experiment("iris")
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"depth": 3, "kernel": "rbf"})
        for step, loss in enumerate([0.9, 0.5, 0.2]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"acc": 0.8, "f1": 0.7}, step=2)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev"})
        rows = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]})
        mlflow.log_input(mlflow.data.from_pandas(rows, name="rows"), context="training")
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.info.experiment_id == experiment.experiment_id
    assert got.info.run_name == "first"
    assert got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.1", "depth": "3", "kernel": "rbf"}
    assert got.data.metrics == {"loss": 0.2, "acc": 0.8, "f1": 0.7}
    assert got.data.tags["team"] == "vision" and got.data.tags["stage"] == "dev"
    (logged,) = got.inputs.dataset_inputs
    assert logged.dataset.name == "rows" and logged.tags[0].value == "training"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.2)]
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment.experiment_id}"


def test_search_runs_and_experiments(tracking_uri: str) -> None:
    mlflow.set_experiment("search-me")
    for lr, acc in ((0.1, 0.7), (0.01, 0.9), (0.001, 0.8)):
        with mlflow.start_run():
            mlflow.log_param("lr", lr)
            mlflow.log_metric("acc", acc)
    frame = mlflow.search_runs(
        experiment_names=["search-me"],
        filter_string="metrics.acc > 0.75",
        order_by=["metrics.acc DESC"],
    )
    assert list(frame["metrics.acc"]) == [0.9, 0.8]
    assert list(frame["params.lr"]) == ["0.01", "0.001"]
    experiment = mlflow.get_experiment_by_name("search-me")
    assert experiment is not None
    runs = MlflowClient().search_runs(
        [experiment.experiment_id],
        filter_string="params.lr = '0.1'",
    )
    assert [r.data.metrics["acc"] for r in runs] == [0.7]
    names = {e.name for e in mlflow.search_experiments()}
    assert {"Default", "search-me"} <= names
    assert [e.name for e in mlflow.search_experiments(filter_string="name LIKE 'search%'")] == [
        "search-me"
    ]


def test_paging_through_runs(tracking_uri: str) -> None:
    experiment_id = mlflow.create_experiment("paged")
    client = MlflowClient()
    for index in range(5):
        client.create_run(experiment_id, run_name=f"run-{index}")
    first = client.search_runs([experiment_id], max_results=2, order_by=["attributes.run_name"])
    assert [r.info.run_name for r in first] == ["run-0", "run-1"] and first.token
    second = client.search_runs(
        [experiment_id], max_results=2, order_by=["attributes.run_name"], page_token=first.token
    )
    assert [r.info.run_name for r in second] == ["run-2", "run-3"]
    experiments = client.search_experiments(max_results=1)
    assert len(experiments) == 1 and experiments.token


def test_delete_and_restore(tracking_uri: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment("gone", tags={"owner": "me"})
    run = client.create_run(experiment_id)
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [run.info.run_id]
    client.restore_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"
    client.set_terminated(run.info.run_id, "KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    client.delete_tag(run.info.run_id, "mlflow.runName")
    client.rename_experiment(experiment_id, "renamed")
    client.set_experiment_tag(experiment_id, "k", "v")
    client.delete_experiment_tag(experiment_id, "owner")
    experiment = client.get_experiment(experiment_id)
    assert experiment.name == "renamed" and experiment.tags == {"k": "v"}
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    client.restore_experiment(experiment_id)
    restored = client.get_experiment_by_name("renamed")
    assert restored is not None and restored.lifecycle_stage == "active"
    with pytest.raises(MlflowException, match="RESOURCE_ALREADY_EXISTS"):
        client.create_experiment("renamed")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_run("no-such-run")


def test_artifacts_round_trip(tracking_uri: str, tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("one")
    folder = tmp_path / "folder"
    (folder / "inner").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "inner" / "b.json").write_text('{"b": 1}')
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "one.txt"))
        mlflow.log_artifacts(str(folder), artifact_path="data")
        mlflow.log_text("hello", "notes/hello.txt")
    client = MlflowClient()
    top = {f.path: f.is_dir for f in client.list_artifacts(run.info.run_id)}
    assert top == {"one.txt": False, "data": True, "notes": True}
    assert [f.path for f in client.list_artifacts(run.info.run_id, "data")] == [
        "data/a.csv",
        "data/inner",
    ]
    out = Path(client.download_artifacts(run.info.run_id, "data", str(tmp_path / "out")))
    assert (out / "inner" / "b.json").read_text() == '{"b": 1}'
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt") == "hello"


def test_workspace_is_chosen_by_the_tracking_uri(
    tracking_uri: str, services: Services, workspace_name: str
) -> None:
    other = f"{workspace_name}-b"
    services.workspaces.create(Workspace(name=other))
    mlflow.set_tracking_uri(f"{tracking_uri}/workspaces/{other}")
    mlflow.set_experiment("only-in-b")
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0)
        mlflow.log_text("b", "b.txt")
    assert services.runs.get(other, run.info.run_id).metrics == {"m": 1.0}
    assert services.experiments.get_by_name(other, "only-in-b").experiment_id == "1"
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/b.txt") == "b"
    mlflow.set_tracking_uri(tracking_uri)
    assert mlflow.get_experiment_by_name("only-in-b") is None
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        MlflowClient().get_run(run.info.run_id)
