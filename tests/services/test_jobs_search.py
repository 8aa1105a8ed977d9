"""Listing jobs with MLflow's filter and order syntax, and comparing them, over both back
ends. Jobs are recorded with `submit` (no runner starts) and given metrics with log_batch;
tests/sdk/test_jobs_compare.py does the same with jobs that really run."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from orchard.entities.jobs import CommandJob, JobStatus
from orchard.entities.tracking import Metric, Param, Tag
from orchard.errors import NotFound, ValidationError
from orchard.sdk.client import MLClient
from orchard.services import Services


@pytest.fixture
def services(ml_client: MLClient) -> Services:
    transport = ml_client._transport
    return transport.services  # type: ignore[attr-defined,no-any-return]


def record(
    services: Services,
    workspace: str,
    name: str,
    *,
    experiment: str = "exp",
    params: Mapping[str, str] | None = None,
    metrics: Mapping[str, list[float]] | None = None,
    tags: Mapping[str, str] | None = None,
    status: str = JobStatus.COMPLETED,
) -> None:
    """A job as its runner leaves it: metrics logged step by step, then ended."""
    name = full(workspace, name)
    services.jobs.submit(
        workspace, CommandJob(name=name, command="true", experiment_name=experiment)
    )
    points = [
        Metric(key=key, value=value, step=step, timestamp=1000 + step)
        for key, values in (metrics or {}).items()
        for step, value in enumerate(values)
    ]
    services.runs.log_batch(
        workspace,
        name,
        metrics=points,
        params=[Param(key=k, value=v) for k, v in (params or {}).items()],
        tags=[Tag(key=k, value=v) for k, v in (tags or {}).items()],
    )
    path = {
        JobStatus.COMPLETED: [JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.COMPLETED],
        JobStatus.FAILED: [JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.FAILED],
        JobStatus.QUEUED: [],
    }[status]
    for step in path:
        services.jobs.set_status(workspace, name, step)


@pytest.fixture
def jobs(services: Services, workspace_name: str) -> Services:
    """Four jobs over two experiments; the latest accuracy is not always the best one."""
    ws = workspace_name
    record(services, ws, "job-a", params={"lr": "0.1"}, metrics={"accuracy": [0.99, 0.95]})
    record(services, ws, "job-b", params={"lr": "0.01"}, metrics={"accuracy": [0.5, 0.85]})
    record(
        services,
        ws,
        "job-c",
        params={"lr": "0.001"},
        metrics={"accuracy": [0.97]},
        tags={"team": "vision"},
        status=JobStatus.FAILED,
    )
    record(services, ws, "job-d", experiment="other", params={"lr": "0.1"}, metrics={})
    return services


def full(workspace: str, name: str) -> str:
    """Job names are unique across workspaces (they are MLflow run ids): suffix them."""
    return f"{name}-{workspace}"


def names(services: Services, workspace: str, **query: object) -> list[str]:
    found = services.jobs.list(workspace, **query)  # type: ignore[arg-type]
    return [(job.name or "").removesuffix(f"-{workspace}") for job in found]


def test_filter_and_order_by_latest_metric(jobs: Services, workspace_name: str) -> None:
    ws = workspace_name
    found = names(
        jobs,
        ws,
        experiment="exp",
        filter_string="metrics.accuracy > 0.9",
        order_by=["metrics.accuracy DESC"],
    )
    assert found == ["job-c", "job-a"]  # job-a's 0.99 was not its latest value
    ascending = names(jobs, ws, experiment="exp", order_by=["metrics.accuracy ASC"])
    assert ascending == ["job-b", "job-a", "job-c"]


def test_without_experiment_every_experiment_is_searched(
    jobs: Services, workspace_name: str
) -> None:
    ws = workspace_name
    assert names(jobs, ws) == ["job-d", "job-c", "job-b", "job-a"]  # newest first
    assert names(jobs, ws, filter_string="params.lr = '0.1'") == ["job-d", "job-a"]
    # A job without the metric sorts last whichever way the order goes.
    assert names(jobs, ws, order_by=["metrics.accuracy DESC"])[-1] == "job-d"
    assert names(jobs, ws, order_by=["metrics.accuracy ASC"])[-1] == "job-d"


def test_several_order_keys_tags_and_status(jobs: Services, workspace_name: str) -> None:
    ws = workspace_name
    by_lr = names(jobs, ws, order_by=["params.lr DESC", "attributes.run_name ASC"])
    assert by_lr == ["job-a", "job-d", "job-b", "job-c"]
    assert names(jobs, ws, filter_string="tags.team = 'vision'") == ["job-c"]
    # Azure's state names and MLflow's both work.
    assert names(jobs, ws, filter_string="attributes.status = 'Failed'") == ["job-c"]
    finished = names(jobs, ws, filter_string="status = 'FINISHED' and metrics.accuracy < 0.9")
    assert finished == ["job-b"]
    assert names(jobs, ws, filter_string="attributes.status != 'Completed'") == ["job-c"]


def test_max_results_counts_only_jobs(jobs: Services, workspace_name: str) -> None:
    ws = workspace_name
    # A plain MLflow run with a better accuracy is not a job; the limit must not count it.
    run = jobs.runs.create(ws, jobs.experiments.get_by_name(ws, "exp").experiment_id)
    jobs.runs.log_batch(ws, run.info.run_id, metrics=[Metric(key="accuracy", value=1.0)])
    top = names(jobs, ws, order_by=["metrics.accuracy DESC"], max_results=1)
    assert top == ["job-c"]
    assert names(jobs, ws, max_results=2) == ["job-d", "job-c"]
    with pytest.raises(ValidationError, match="max_results"):
        names(jobs, ws, max_results=0)


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("metrics.accuracy >> 0.9", "metrics.accuracy >> 0.9"),
        ("metrics.accuracy > 'high'", "Expected numeric value"),
        ("params.lr = 0.1", "Expected a quoted string value"),
        ("attributes.colour = 'red'", "Invalid attribute key 'colour'"),
        ("attributes.experiment_name = 'exp'", "can order results but not filter"),
        ("metrics.accuracy > 0.9 or params.lr = '0.1'", "Invalid clause"),
    ],
)
def test_bad_filter_names_the_problem(
    jobs: Services, workspace_name: str, filter_string: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        jobs.jobs.list(workspace_name, filter_string=filter_string)


def test_unknown_experiment_and_parent(jobs: Services, workspace_name: str) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        jobs.jobs.list(workspace_name, experiment="nope")
    with pytest.raises(NotFound):
        jobs.jobs.list(workspace_name, parent="no-such-job")
    assert jobs.jobs.list(workspace_name, parent=full(workspace_name, "job-a")) == []


def test_compare_sets_params_and_latest_metrics_side_by_side(
    jobs: Services, workspace_name: str
) -> None:
    ws = workspace_name
    a, b, c, d = (full(ws, f"job-{letter}") for letter in "abcd")
    jobs.runs.log_batch(ws, b, metrics=[Metric(key="loss", value=math.nan)])
    jobs.runs.log_batch(ws, c, metrics=[Metric(key="loss", value=math.nan)])
    compared = jobs.jobs.compare(ws, [c, b, c])
    assert compared.jobs == [c, b]  # the order given, once each
    assert compared.params == {"lr": {c: "0.001", b: "0.01"}}
    assert compared.metrics["accuracy"] == {c: 0.97, b: 0.85}
    assert all(math.isnan(v or 0) for v in compared.metrics["loss"].values())
    assert compared.differing() == ["params.lr", "metrics.accuracy"]  # NaN equals NaN here

    same_lr = jobs.jobs.compare(ws, [a, d])
    assert same_lr.params == {"lr": {a: "0.1", d: "0.1"}}
    assert same_lr.metrics == {"accuracy": {a: 0.95, d: None}}  # d never logged it
    assert same_lr.differing() == ["metrics.accuracy"]
    frame = same_lr.to_dataframe()
    assert list(frame.columns) == [a, d]
    assert list(frame.index) == ["params.lr", "metrics.accuracy"]
    assert frame.loc["metrics.accuracy", a] == 0.95
    assert same_lr.to_dict()["differing"] == ["metrics.accuracy"]


def test_compare_names_every_unknown_job(jobs: Services, workspace_name: str) -> None:
    ws = workspace_name
    a = full(ws, "job-a")
    with pytest.raises(NotFound, match="jobs not found: 'ghost', 'phantom'"):
        jobs.jobs.compare(ws, [a, "ghost", "phantom"])
    with pytest.raises(ValidationError, match="at least one"):
        jobs.jobs.compare(ws, [])
    # Another workspace's job is unknown here, and this one's is unknown there.
    other = f"{ws}-other"
    jobs.workspaces.ensure(other)
    record(jobs, other, "job-elsewhere", params={"lr": "1"})
    elsewhere = full(other, "job-elsewhere")
    with pytest.raises(NotFound, match=f"job not found: '{elsewhere}'"):
        jobs.jobs.compare(ws, [a, elsewhere])
    with pytest.raises(NotFound, match=f"'{a}'"):
        jobs.jobs.run_data(other, [a])
    assert names(jobs, other) == ["job-elsewhere"]
    assert "job-elsewhere" not in [n.removesuffix(f"-{other}") for n in names(jobs, ws)]
