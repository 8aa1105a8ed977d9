"""The stock mlflow client inside a command job, read back by the stock client outside it.

One job per store back end runs a script that autologs and fits a scikit-learn model,
logs a metric at several steps, a param and an artifact, and logs and registers the model
with MLflow 3's `log_model(name=..., registered_model_name=...)`. The job's runner serves
the tracking API to the script; afterwards Orchard's server app, on a loopback port over
the same store, answers the stock client, and the Orchard SDK must see the same run.
"""

from __future__ import annotations

import io
import os
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Before mlflow is imported: no telemetry, no retries, no waiting.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from live_server import serving
from orchard import command
from orchard.entities.jobs import CommandJob
from orchard.sdk.client import MLClient
from orchard.server.app import create_app
from orchard.services import Services

POSTGRES_ENV = "ORCHARD_TEST_DATABASE_URL"
BACKENDS = ["sqlite", *(["postgres"] if os.environ.get(POSTGRES_ENV) else [])]
MODEL = "iris-clf"
EXPERIMENT = "iris"
LOSSES = [1.0, 0.5, 0.25, 0.125, 0.0625]
# The class centres the script draws its samples around: a fitted model must name them.
CENTERS = [[0.0, 0.0, 0.0, 0.0], [4.0, 4.0, 0.0, 0.0], [0.0, 4.0, 4.0, 4.0]]

SCRIPT = textwrap.dedent(
    f"""
    import pathlib

    import mlflow
    import mlflow.sklearn
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    # Four features and three classes, as iris has, drawn around well-separated centres.
    rng = np.random.default_rng(7)
    centers = np.array({CENTERS!r})
    y = np.repeat(np.arange(3), 50)
    X = centers[y] + rng.normal(scale=0.5, size=(150, 4))

    mlflow.sklearn.autolog(log_models=False)
    with mlflow.start_run() as run:
        model = LogisticRegression(max_iter=300).fit(X, y)
        for step, loss in enumerate({LOSSES!r}):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_param("rows", len(X))
        pathlib.Path("notes.txt").write_text("fitted on made-up iris")
        mlflow.log_artifact("notes.txt")
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name="{MODEL}", input_example=X[:2]
        )
        print("logged run", run.info.run_id, "model", info.model_id)
    """
)


@dataclass(frozen=True)
class Finished:
    """A job that ran the script, the client that submitted it, and a server over its store."""

    client: MLClient
    job: CommandJob
    log: str
    tracking_uri: str

    @property
    def run_id(self) -> str:
        assert self.job.name
        return self.job.name

    @property
    def services(self) -> Services:
        found: Services = self.client._transport.services  # type: ignore[attr-defined]
        return found


@pytest.fixture(scope="module", params=BACKENDS)
def finished(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Finished]:
    root = tmp_path_factory.mktemp("mlflow-job")
    if request.param == "sqlite":
        database_url = f"sqlite:///{root / 'store' / 'orchard.db'}"
    else:
        database_url = request.getfixturevalue("postgres_url")
    code = root / "src"
    code.mkdir()
    (code / "train.py").write_text(SCRIPT)
    with pytest.MonkeyPatch.context() as env:
        # No job, runner or client reads the developer's own store, settings or ~/.mlflow.
        for name in ("ORCHARD_HOME", "ORCHARD_DATABASE_URL", "ORCHARD_WORKSPACE"):
            env.delenv(name, raising=False)
        env.setenv("HOME", str(root / "user-home"))
        home = root / "home" / ".orchard"
        home.mkdir(parents=True)
        workspace = f"ws-{uuid.uuid4().hex[:10]}"
        client = MLClient(workspace_name=workspace, home=home, database_url=database_url)
        try:
            job = client.jobs.create_or_update(
                command(code=str(code), command="python train.py", experiment_name=EXPERIMENT)
            )
            assert job.name
            log = io.StringIO()
            done = client.jobs.stream(job.name, out=log)
            assert done.status == "Completed", (done.error, log.getvalue())
            services: Services = client._transport.services  # type: ignore[attr-defined]
            with serving(create_app(services, default_workspace=workspace)) as url:
                yield Finished(client, done, log.getvalue(), url)
        finally:
            client.close()


@pytest.fixture
def tracking(finished: Finished) -> Iterator[MlflowClient]:
    """The stock client pointed at the server over the job's store, and reset afterwards."""
    mlflow.set_tracking_uri(finished.tracking_uri)
    mlflow.set_registry_uri(finished.tracking_uri)
    yield MlflowClient()
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    mlflow.set_registry_uri(None)  # type: ignore[arg-type]


def test_the_script_logged_into_the_job_run(finished: Finished) -> None:
    assert f"logged run {finished.run_id} model m-" in finished.log


def test_metric_history_keeps_every_step(finished: Finished, tracking: MlflowClient) -> None:
    history = tracking.get_metric_history(finished.run_id, "loss")
    assert [(m.step, m.value) for m in history] == list(enumerate(LOSSES))
    run = tracking.get_run(finished.run_id)
    assert run.data.metrics["loss"] == LOSSES[-1]


def test_params_and_autologged_values(finished: Finished, tracking: MlflowClient) -> None:
    run = tracking.get_run(finished.run_id)
    assert run.info.run_id == finished.run_id
    assert run.info.status == "FINISHED"
    assert tracking.get_experiment(run.info.experiment_id).name == EXPERIMENT
    params = run.data.params
    assert params["rows"] == "150"
    # autolog records the estimator's parameters and its training scores
    assert params["max_iter"] == "300" and params["C"] == "1.0"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert 0.9 <= run.data.metrics["training_accuracy_score"] <= 1.0
    assert 0 <= run.data.metrics["training_log_loss"] < 0.5


def test_artifact_is_stored_with_the_run(
    finished: Finished, tracking: MlflowClient, tmp_path: Path
) -> None:
    names = {f.path for f in tracking.list_artifacts(finished.run_id)}
    assert "notes.txt" in names
    local = mlflow.artifacts.download_artifacts(
        run_id=finished.run_id, artifact_path="notes.txt", dst_path=str(tmp_path)
    )
    assert Path(local).read_text() == "fitted on made-up iris"


def test_registered_version_is_ready(finished: Finished, tracking: MlflowClient) -> None:
    version = tracking.get_model_version(MODEL, "1")
    assert version.status == "READY"
    assert version.run_id == finished.run_id
    assert [v.version for v in tracking.search_model_versions(f"name='{MODEL}'")] == ["1"]
    # MLflow 3 registers the logged model, which keeps the run's metrics at its step
    assert version.source.startswith("models:/m-")
    logged = tracking.get_logged_model(version.source.removeprefix("models:/"))
    assert logged.source_run_id == finished.run_id and logged.name == "model"
    assert logged.status == "READY"
    linked = {m.key: (m.step, m.value, m.run_id) for m in logged.metrics or []}
    assert linked["loss"] == (0, LOSSES[0], finished.run_id)
    assert 0.9 <= linked["training_accuracy_score"][1] <= 1.0


def test_registered_model_loads_and_predicts(finished: Finished, tracking: MlflowClient) -> None:
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}/1")
    assert list(model.predict(np.array(CENTERS))) == [0, 1, 2]


def test_alias_loads_the_same_version(finished: Finished, tracking: MlflowClient) -> None:
    tracking.set_registered_model_alias(MODEL, "champion", "1")
    assert tracking.get_model_version_by_alias(MODEL, "champion").version == "1"
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@champion")
    assert list(model.predict(np.array(CENTERS))) == [0, 1, 2]


def test_sdk_sees_the_same_run(finished: Finished) -> None:
    workspace = finished.client.workspace_name
    job = finished.client.jobs.get(finished.run_id)
    assert job.status == "Completed" and job.experiment_name == EXPERIMENT
    run = finished.services.runs.get(workspace, finished.run_id)
    assert run.info.run_id == finished.run_id
    assert run.params["rows"] == "150"
    assert run.metrics["loss"] == LOSSES[-1]
    history, _ = finished.services.runs.metric_history(workspace, finished.run_id, "loss")
    assert [(m.step, m.value) for m in history] == list(enumerate(LOSSES))
