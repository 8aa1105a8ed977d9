"""Finding and comparing jobs that really ran. Each job logs through the MLflow REST API
its runner serves (what `mlflow.log_*` calls; plain urllib keeps each job well under a
second of Python start-up instead of importing mlflow)."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from orchard import command
from orchard.errors import NotFound, ValidationError
from orchard.sdk.client import MLClient

TRAIN = """
import json, os, sys, time, urllib.request

lr, accuracies = sys.argv[1], [float(a) for a in sys.argv[2].split(",")]
now = int(time.time() * 1000)
batch = {
    "run_id": os.environ["MLFLOW_RUN_ID"],
    "params": [{"key": "lr", "value": lr}, {"key": "optimizer", "value": "adam"}],
    "metrics": [
        {"key": "accuracy", "value": value, "step": step, "timestamp": now}
        for step, value in enumerate(accuracies)
    ],
}
request = urllib.request.Request(
    os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-batch",
    data=json.dumps(batch).encode(),
    headers={"Content-Type": "application/json"},
)
urllib.request.urlopen(request).read()
"""


@pytest.fixture
def trained(ml_client: MLClient, tmp_path: Path) -> dict[str, str]:
    """Three jobs run side by side; the name of each by its learning rate."""
    code = tmp_path / "src"
    code.mkdir()
    (code / "train.py").write_text(textwrap.dedent(TRAIN))
    runs = {"0.1": "0.6,0.95", "0.01": "0.99,0.85", "0.001": "0.97"}
    submitted = {
        lr: ml_client.jobs.create_or_update(
            command(
                code=str(code),
                command=f"python train.py {lr} {accuracies}",
                experiment_name="sweep-by-hand",
            )
        )
        for lr, accuracies in runs.items()
    }
    names = {}
    for lr, job in submitted.items():
        assert job.name
        done = ml_client.jobs.stream(job.name, out=io.StringIO())
        assert done.status == "Completed", done.error
        names[lr] = job.name
    return names


def test_list_and_compare_real_jobs(ml_client: MLClient, trained: dict[str, str]) -> None:
    """One test, so the three jobs run once per back end."""
    other = ml_client.jobs.create_or_update(command(command="true", experiment_name="elsewhere"))
    best = ml_client.jobs.list(
        experiment_name="sweep-by-hand",
        filter="metrics.accuracy > 0.9",
        order_by="metrics.accuracy DESC",
    )
    assert [job.name for job in best] == [trained["0.001"], trained["0.1"]]  # latest values
    assert all(job.status == "Completed" for job in best)
    slow = ml_client.jobs.list(filter="params.lr = '0.001'")  # every experiment
    assert [job.name for job in slow] == [trained["0.001"]]
    top = ml_client.jobs.list(order_by=["params.optimizer ASC", "metrics.accuracy"], max_results=2)
    assert [job.name for job in top] == [trained["0.01"], trained["0.1"]]
    everything = ml_client.jobs.list()
    assert len(everything) == 4 and everything[0].experiment_name == "elsewhere"
    assert len(ml_client.jobs.list(experiment_name="sweep-by-hand")) == 3
    with pytest.raises(ValidationError, match="Invalid clause"):
        ml_client.jobs.list(filter="metrics.accuracy > 0.9 or params.lr = '0.1'")
    assert ml_client.jobs.stream(other.name or "", out=io.StringIO()).status == "Completed"

    a, b, c = trained["0.1"], trained["0.01"], trained["0.001"]
    compared = ml_client.jobs.compare([a, b, c])
    assert compared.jobs == [a, b, c]
    assert compared.params == {
        "lr": {a: "0.1", b: "0.01", c: "0.001"},
        "optimizer": {a: "adam", b: "adam", c: "adam"},
    }
    assert compared.metrics == {"accuracy": {a: 0.95, b: 0.85, c: 0.97}}
    assert compared.differing() == ["params.lr", "metrics.accuracy"]
    frame = compared.to_dataframe()
    assert frame.shape == (3, 3)
    assert list(frame.loc["params.optimizer"]) == ["adam", "adam", "adam"]
    assert frame.loc["metrics.accuracy", b] == 0.85
    data = ml_client.jobs.run_data([c])
    assert data[c].params[0].key == "lr" and data[c].metrics[0].value == 0.97
    with pytest.raises(NotFound, match="job not found: 'no-such-job'"):
        ml_client.jobs.compare([a, "no-such-job"])
