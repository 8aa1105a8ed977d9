"""Sweep jobs that really run: trials are child command jobs forked by the sweep's runner.

Trial scripts log through the MLflow REST API their runner serves (urllib, so a trial
starts in milliseconds instead of importing mlflow). Each test keeps its trials few and
short; the sweep benchmarks in bench/ run the big ones.
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from orchard import command
from orchard.entities.loaders import load_job
from orchard.entities.sweep import SweepJob
from orchard.sdk.client import MLClient
from orchard.sweep import BanditPolicy, Choice, Uniform

if TYPE_CHECKING:
    from conftest import Cli  # the shared fixture's type; tests/server has a conftest too

# Logs `metric` once per step; the value is `quality` * (step + 1) / steps, so a better
# quality leads at every step. `pause` is the trial's own work between reports.
TRAIN = """
import argparse, json, os, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--quality", type=float)
parser.add_argument("--name", default="x")
parser.add_argument("--steps", type=int, default=1)
parser.add_argument("--pause", type=float, default=0.0)
parser.add_argument("--metric", default="accuracy")
args = parser.parse_args()

def log(key, value, step):
    body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": key, "value": value,
            "timestamp": int(time.time() * 1000), "step": step}
    request = urllib.request.Request(
        os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()

for step in range(args.steps):
    log(args.metric, args.quality * (step + 1) / args.steps, step)
    time.sleep(args.pause)
print("trial done", args.quality, args.name)
"""

SPEC = """
$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json
type: sweep
trial:
  command: >-
    python train.py --quality ${{search_space.quality}} --name ${{search_space.name}}
    --steps ${{inputs.steps}}
  code: src
inputs:
  steps: 2
sampling_algorithm:
  type: random
  seed: 7
search_space:
  quality:
    type: uniform
    min_value: 0.1
    max_value: 1.0
  name:
    type: choice
    values: [alpha, beta]
objective:
  goal: maximize
  primary_metric: accuracy
limits:
  max_total_trials: 4
  max_concurrent_trials: 2
  timeout: 600
display_name: hello-sweep
experiment_name: sweeps
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.py").write_text(textwrap.dedent(TRAIN))
    return folder


def spec_file(tmp_path: Path, code: Path, **changes: object) -> Path:
    body = yaml.safe_load(SPEC)
    body["trial"]["code"] = str(code)
    body.update(changes)
    path = tmp_path / "sweep.yml"
    path.write_text(yaml.safe_dump(body))
    return path


def run_sweep(ml_client: MLClient, job: SweepJob) -> tuple[SweepJob, str]:
    submitted = ml_client.jobs.create_or_update(job)
    assert submitted.name
    log = io.StringIO()
    done = ml_client.jobs.stream(submitted.name, out=log)
    assert isinstance(done, SweepJob)
    return done, log.getvalue()


def trials_of(ml_client: MLClient, sweep: SweepJob) -> dict[str, dict[str, str]]:
    """Each trial's recorded params, by trial name."""
    children = ml_client.jobs.list(parent_job_name=sweep.name)
    data = ml_client.jobs.run_data([c.name or "" for c in children])
    return {name: {p.key: p.value for p in run.params} for name, run in data.items()}


def test_an_azure_sweep_spec_runs_its_trials_and_records_the_best(
    ml_client: MLClient, tmp_path: Path, code: Path
) -> None:
    job = load_job(spec_file(tmp_path, code))
    assert isinstance(job, SweepJob)
    done, log = run_sweep(ml_client, job)
    assert done.status == "Completed", (done.error, log)
    trials = trials_of(ml_client, done)
    assert sorted(trials) == [f"{done.name}_{i}" for i in range(4)]
    for params in trials.values():
        assert 0.1 <= float(params["quality"]) <= 1.0 and params["name"] in ("alpha", "beta")
    best = max(trials, key=lambda name: float(trials[name]["quality"]))
    assert done.properties["best_child_run_id"] == best
    assert float(done.properties["score"]) == pytest.approx(float(trials[best]["quality"]))
    assert json.loads(done.properties["best_hyperparameters"])["name"] == trials[best]["name"]
    progress = {k: v for k, v in done.properties.items() if k.startswith("trials_")}
    assert progress == {
        "trials_started": "4",
        "trials_running": "0",
        "trials_completed": "4",
        "trials_failed": "0",
        "trials_canceled": "0",
        "trials_early_terminated": "0",
    }
    assert f"best trial {best}" in log and "4 trials: 4 Completed" in log
    # The same seed samples the same trials again.
    again, _ = run_sweep(ml_client, job.model_copy(update={"name": None}))
    assert sorted(trials_of(ml_client, again).values(), key=str) == sorted(trials.values(), key=str)


def test_a_grid_runs_every_combination_once(ml_client: MLClient, code: Path) -> None:
    job = command(
        code=str(code),
        command="python train.py --quality ${{inputs.quality}} --name ${{inputs.name}}",
        inputs={"quality": 0.5, "name": "a"},
    )(quality=Choice(values=[0.2, 0.4, 0.6]), name=Choice(values=["a", "b"]))
    sweep = job.sweep(primary_metric="accuracy", goal="Maximize", sampling_algorithm="grid")
    sweep.set_limits(max_total_trials=50, max_concurrent_trials=3)
    done, _ = run_sweep(ml_client, sweep)
    assert done.status == "Completed", done.error
    combos = sorted((p["quality"], p["name"]) for p in trials_of(ml_client, done).values())
    assert combos == sorted((q, n) for q in ("0.2", "0.4", "0.6") for n in ("a", "b"))
    assert float(done.properties["score"]) == 0.6


def test_max_concurrent_trials_is_honoured_exactly(ml_client: MLClient, code: Path) -> None:
    sweep = command(code=str(code), command="python train.py --quality ${{inputs.q}} --pause 0.6")(
        q=Uniform(min_value=0, max_value=1)
    ).sweep(primary_metric="accuracy", goal="maximize", max_total_trials=5, max_concurrent_trials=2)
    done, _ = run_sweep(ml_client, sweep)
    assert done.status == "Completed", done.error
    children = ml_client.jobs.list(parent_job_name=done.name)
    spans = [(c.start_time or 0, c.end_time or 0) for c in children]
    assert len(spans) == 5 and all(start and end for start, end in spans)
    most = max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)
    assert most == 2


def test_bandit_stops_a_trial_that_falls_behind(ml_client: MLClient, code: Path) -> None:
    # One trial at a time, so the good one has finished before the bad one is judged.
    sweep = command(
        code=str(code),
        command="python train.py --quality ${{inputs.q}} --steps 40 --pause 0.1",
    )(q=Choice(values=[1.0, 0.2])).sweep(
        primary_metric="accuracy",
        goal="maximize",
        sampling_algorithm="grid",
        max_concurrent_trials=1,
        early_termination_policy=BanditPolicy(slack_amount=0.1, evaluation_interval=1),
    )
    done, log = run_sweep(ml_client, sweep)
    assert done.status == "Completed", done.error
    first, second = (ml_client.jobs.get(f"{done.name}_{i}") for i in range(2))
    assert first.status == "Completed" and second.status == "Canceled"
    assert f"trial {done.name}_1 stopped early by the bandit policy" in log
    assert done.properties["best_child_run_id"] == f"{done.name}_0"
    assert done.properties["trials_early_terminated"] == "1"
    history = ml_client.jobs.metric_history(f"{done.name}_1", "accuracy")
    assert 1 <= len(history) < 40


def test_canceling_the_sweep_cancels_its_trials(ml_client: MLClient, code: Path) -> None:
    sweep = command(
        code=str(code), command="python train.py --quality ${{inputs.q}} --steps 600 --pause 1"
    )(q=Uniform(min_value=0, max_value=1)).sweep(
        primary_metric="accuracy", goal="maximize", max_total_trials=6, max_concurrent_trials=2
    )
    submitted = ml_client.jobs.create_or_update(sweep)
    assert submitted.name

    class CancelOnSecondTrial(io.StringIO):
        def write(self, text: str) -> int:
            if f"trial {submitted.name}_1 started" in self.getvalue() + text:
                ml_client.jobs.begin_cancel(submitted.name or "")
            return super().write(text)

    done = ml_client.jobs.stream(submitted.name, out=CancelOnSecondTrial())
    assert done.status == "Canceled"
    children = ml_client.jobs.list(parent_job_name=submitted.name)
    assert len(children) == 2 and {c.status for c in children} == {"Canceled"}


def test_trials_that_never_log_the_metric_fail_the_sweep_saying_so(
    ml_client: MLClient, code: Path
) -> None:
    sweep = command(code=str(code), command="python train.py --quality ${{inputs.q}} --metric acc")(
        q=Choice(values=[0.5, 0.7])
    ).sweep(primary_metric="accuracy", goal="maximize", sampling_algorithm="grid")
    done, log = run_sweep(ml_client, sweep)
    assert done.status == "Failed" and done.error
    assert done.error["code"] == "PrimaryMetricNotLogged"
    assert "no trial logged the primary metric 'accuracy'" in done.error["message"]
    assert "the trials logged 'acc'" in done.error["message"] and "'accuracy'" in log


def test_failed_trials_fail_the_sweep_only_when_all_fail(ml_client: MLClient, code: Path) -> None:
    script = (
        "python train.py --quality ${{inputs.q}}"
        " && python -c 'import sys; sys.exit(${{inputs.q}} < 0.5)'"
    )
    some = command(code=str(code), command=script)(q=Choice(values=[0.2, 0.8])).sweep(
        primary_metric="accuracy", goal="maximize", sampling_algorithm="grid"
    )
    done, _ = run_sweep(ml_client, some)
    assert done.status == "Completed" and done.properties["trials_failed"] == "1"
    assert done.properties["best_child_run_id"] == f"{done.name}_1"
    every = command(code=str(code), command="exit 3")(q=Choice(values=[1, 2])).sweep(
        primary_metric="accuracy", goal="maximize", sampling_algorithm="grid"
    )
    failed, _ = run_sweep(ml_client, every)
    assert failed.status == "Failed" and failed.error
    assert failed.error["code"] == "AllTrialsFailed"
    assert "all 2 trials failed" in failed.error["message"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"search_space": {"q": {"type": "gaussian", "mu": 0, "sigma": 1}}},
            "search_space.q",
        ),
        ({"sampling_algorithm": "grid"}, "grid"),
        (
            {
                "sampling_algorithm": "bayesian",
                "early_termination": {"type": "bandit", "slack_factor": 0.1},
            },
            "Bayesian sampling does not support early termination",
        ),
        ({"limits": {"max_total_trials": 0}}, "limits.max_total_trials"),
        ({"objective": {"goal": "maximise", "primary_metric": "a"}}, "objective.goal"),
    ],
)
def test_bad_sweep_specs_exit_2_naming_the_problem(
    cli: Cli, tmp_path: Path, code: Path, change: dict[str, object], said: str
) -> None:
    result = cli("job", "create", "-f", str(spec_file(tmp_path, code, **change)))
    assert result.code == 2, result.stdout + result.stderr
    assert said in result.stderr and "Traceback" not in result.stderr


def test_a_search_space_name_the_trial_lacks_is_an_error(
    cli: Cli, tmp_path: Path, code: Path
) -> None:
    body = yaml.safe_load(SPEC)
    body["trial"]["code"] = str(code)
    body["trial"]["command"] += " --x ${{search_space.missing}}"
    path = tmp_path / "sweep.yml"
    path.write_text(yaml.safe_dump(body))
    result = cli("job", "create", "-f", str(path))
    assert result.code == 2
    assert "search_space.missing" in result.stderr and "does not define" in result.stderr


def test_the_cli_streams_a_sweep_to_its_end(cli: Cli, tmp_path: Path, code: Path) -> None:
    result = cli.ok("job", "create", "-f", str(spec_file(tmp_path, code)), "--stream")
    assert "trial " in result.stdout and "best trial" in result.stdout
    opening = next(line for line in result.stdout.splitlines() if line.startswith("sweep "))
    name = opening.split()[1].rstrip(":")
    shown = yaml.safe_load(cli.ok("job", "show", "-n", name, "-o", "yaml").stdout)
    assert shown["type"] == "sweep" and shown["status"] == "Completed"
    assert shown["properties"]["best_child_run_id"].startswith(f"{name}_")


def test_a_sweep_past_its_timeout_stops_its_trials_and_keeps_the_best(
    ml_client: MLClient, code: Path
) -> None:
    sweep = command(
        code=str(code), command="python train.py --quality ${{inputs.q}} --steps 2 --pause 60"
    )(q=Choice([0.3, 0.9])).sweep(
        primary_metric="accuracy", goal="maximize", sampling_algorithm="grid", timeout=3
    )
    done, log = run_sweep(ml_client, sweep)
    assert done.status == "Completed", done.error
    assert "ran past limits.timeout (3 s)" in log
    assert done.properties["timed_out"] == "true"
    children = ml_client.jobs.list(parent_job_name=done.name)
    data = ml_client.jobs.run_data([c.name or "" for c in children])
    # Which trials reported before the timeout depends on the machine's load; the best
    # is the best of those that did.
    reported = {name: m.value for name, run in data.items() for m in run.metrics}
    assert reported
    assert done.properties["best_child_run_id"] == max(reported, key=reported.__getitem__)
    assert {c.status for c in children} == {"Canceled"}
    assert ml_client.jobs.list() == [ml_client.jobs.get(done.name or "")]  # trials listed under it
