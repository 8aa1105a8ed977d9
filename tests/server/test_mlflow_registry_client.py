"""The stock mlflow client's model registry against a real Orchard server: MLflow 3's
`log_model` with `registered_model_name`, loading by version and alias, stages, and the
same models seen through Orchard's own client."""

from __future__ import annotations

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

from orchard.sdk.client import MLClient
from orchard.services import Services

# Stages are deprecated in MLflow, and still part of the API clients call.
pytestmark = pytest.mark.filterwarnings("ignore:.*Model registry stages:FutureWarning")


def _train() -> tuple[LogisticRegression, np.ndarray]:
    features = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    model = LogisticRegression().fit(features, np.array([0, 1, 0, 1]))
    return model, features


def test_log_register_and_load_a_model(
    tracking_uri: str, ml_client: MLClient, services: Services, workspace_name: str
) -> None:
    model, features = _train()
    mlflow.set_experiment("models")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="clf")
    assert str(info.registered_model_version) == "1"
    outputs = MlflowClient().get_run(run.info.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [info.model_id]
    expected = model.predict(features)

    loaded = mlflow.pyfunc.load_model("models:/clf/1")
    assert list(loaded.predict(features)) == list(expected)

    client = MlflowClient()
    client.set_registered_model_alias("clf", "champion", "1")
    by_alias = mlflow.pyfunc.load_model("models:/clf@champion")
    assert list(by_alias.predict(features)) == list(expected)
    assert client.get_model_version_by_alias("clf", "champion").version == "1"

    versions = client.search_model_versions("name='clf'")
    assert [(v.name, v.version, v.run_id) for v in versions] == [("clf", "1", run.info.run_id)]
    assert versions[0].source == f"models:/{info.model_id}"
    assert versions[0].aliases == ["champion"]

    staged = client.transition_model_version_stage("clf", "1", "Production")
    assert staged.current_stage == "Production"
    uri = client.get_model_version_download_uri("clf", "1")
    assert uri == f"mlflow-artifacts:/{run.info.experiment_id}/models/{info.model_id}/artifacts"
    assert [v.version for v in client.get_latest_versions("clf", stages=["Production"])] == ["1"]

    # The same model through Orchard's own client.
    listed = {m.name: m for m in ml_client.models.list()}
    assert listed["clf"].version == "1"
    orchard_model = ml_client.models.get("clf", version="1")
    assert orchard_model.type == "mlflow_model"
    assert orchard_model.job_name == run.info.run_id
    assert orchard_model.stage == "Production"
    assert orchard_model.path == (
        "azureml://datastores/workspaceartifactstore/paths/"
        f"{run.info.experiment_id}/models/{info.model_id}/artifacts"
    )
    logged = services.logged_models.get(workspace_name, info.model_id)
    assert logged.info.status == "LOGGED_MODEL_READY"


def test_register_a_run_artifact_and_manage_the_registry(tracking_uri: str) -> None:
    model, features = _train()
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="model")
    client.create_registered_model("reg", tags={"team": "a"}, description="first")
    one = client.create_model_version("reg", f"runs:/{run.info.run_id}/model", run.info.run_id)
    two = mlflow.register_model(f"runs:/{run.info.run_id}/model", "reg")
    assert (one.version, two.version) == ("1", "2")
    client.update_model_version("reg", "2", description="better")
    client.set_model_version_tag("reg", "2", "validated", "yes")
    client.delete_model_version_tag("reg", "2", "validated")
    client.transition_model_version_stage("reg", "1", "Staging")
    client.transition_model_version_stage("reg", "2", "Staging", archive_existing_versions=True)
    assert client.get_model_version("reg", "1").current_stage == "Archived"
    assert client.get_model_version("reg", "2").description == "better"

    client.set_registered_model_tag("reg", "k", "v")
    client.delete_registered_model_tag("reg", "team")
    client.update_registered_model("reg", description="second")
    client.rename_registered_model("reg", "reg2")
    renamed = client.get_registered_model("reg2")
    assert renamed.tags == {"k": "v"} and renamed.description == "second"
    assert {v.version: v.current_stage for v in renamed.latest_versions} == {
        "2": "Staging",
        "1": "Archived",
    }
    assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'reg%'")] == [
        "reg2"
    ]
    loaded = mlflow.pyfunc.load_model("models:/reg2/2")
    assert list(loaded.predict(features)) == list(model.predict(features))

    client.delete_model_version("reg2", "1")
    assert [v.version for v in client.search_model_versions("name='reg2'")] == ["2"]
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_model_version("reg2", "1")
    client.delete_registered_model("reg2")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_registered_model("reg2")


def test_log_model_links_the_runs_metrics_without_copying_them(tracking_uri: str) -> None:
    # MLflow 3's log_model logs the run's metrics at the model's step again, naming the
    # model: the run's history must not grow, and the logged model must keep them.
    model, _ = _train()
    client = MlflowClient()
    with mlflow.start_run() as run:
        for step, loss in enumerate([1.0, 0.5, 0.25]):
            mlflow.log_metric("loss", loss, step=step)
        info = mlflow.sklearn.log_model(model, name="model")
        client.log_metric(run.info.run_id, "val_acc", 0.75, step=3, model_id=info.model_id)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 0.25)]
    logged = client.get_logged_model(info.model_id)
    assert [(m.key, m.step, m.value, m.run_id) for m in logged.metrics or []] == [
        ("loss", 0, 1.0, run.info.run_id),
        ("val_acc", 3, 0.75, run.info.run_id),
    ]
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.25, "val_acc": 0.75}
