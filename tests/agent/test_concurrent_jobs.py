"""Eight jobs at once, each logging through its runner's tracking API into one store."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from orchard import command
from orchard.sdk.client import MLClient

JOBS = 8
BATCHES = 10
PER_BATCH = 50
SINGLE_CALLS = 20

# Plain urllib: the job's interpreter need not have mlflow to log into Orchard.
SCRIPT = textwrap.dedent(
    f"""
    import json, os, time, urllib.request

    base = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/"
    run_id = os.environ["MLFLOW_RUN_ID"]

    def post(route, body):
        request = urllib.request.Request(
            base + route, json.dumps(body).encode(), {{"Content-Type": "application/json"}}
        )
        urllib.request.urlopen(request).read()

    now = int(time.time() * 1000)
    for batch in range({BATCHES}):
        metrics = [
            {{"key": "loss", "value": batch * {PER_BATCH} + i, "timestamp": now,
              "step": batch * {PER_BATCH} + i}}
            for i in range({PER_BATCH})
        ]
        post("log-batch", {{"run_id": run_id, "metrics": metrics}})
    for step in range({SINGLE_CALLS}):
        post("log-metric", {{"run_id": run_id, "key": "acc", "value": step / 100,
                             "timestamp": now, "step": step}})
    post("log-parameter", {{"run_id": run_id, "key": "worker", "value": run_id}})
    """
)


def test_eight_concurrent_jobs_lose_no_metric(ml_client: MLClient, tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "log.py").write_text(SCRIPT)
    submitted = [
        ml_client.jobs.create_or_update(
            command(code=str(code), command="python log.py", experiment_name="concurrent")
        )
        for _ in range(JOBS)
    ]
    names = [job.name or "" for job in submitted]
    for name in names:
        done = ml_client.jobs.stream(name, out=io.StringIO())
        assert done.status == "Completed", (name, done.error)

    runs = ml_client.jobs._transport.runs
    workspace = ml_client.workspace_name
    for name in names:
        run = runs.get(workspace, name)
        assert run.params == {"worker": name}
        assert run.metrics == {"loss": BATCHES * PER_BATCH - 1, "acc": (SINGLE_CALLS - 1) / 100}
        history, _ = runs.metric_history(workspace, name, "loss")
        assert sorted(m.step for m in history) == list(range(BATCHES * PER_BATCH))
        accuracy, _ = runs.metric_history(workspace, name, "acc")
        assert len(accuracy) == SINGLE_CALLS
