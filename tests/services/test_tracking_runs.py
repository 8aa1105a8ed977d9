"""Tracking services over both store back ends: experiments, runs, logging, search."""

from __future__ import annotations

import math
import sys
import threading

import pytest

from orchard.entities.tracking import Metric, Param, Tag
from orchard.errors import Conflict, NotFound, ValidationError
from orchard.sdk.client import MLClient
from orchard.services import Services


@pytest.fixture
def services(ml_client: MLClient) -> Services:
    transport = ml_client._transport
    return transport.services  # type: ignore[attr-defined,no-any-return]


def test_default_experiment_exists(services: Services, workspace_name: str) -> None:
    default = services.experiments.get(workspace_name, "0")
    assert default.name == "Default"
    assert default.artifact_location == "mlflow-artifacts:/0"
    assert services.experiments.get_by_name(workspace_name, "Default").experiment_id == "0"


def test_concurrent_first_calls_create_each_experiment_once(
    services: Services, workspace_name: str
) -> None:
    # The first calls of a workspace race to create Default and the named experiments,
    # as the jobs of a schedule or a sweep fired at once do.
    names = ["a", "b", "c"] * 2
    start = threading.Barrier(len(names))
    found: dict[int, str] = {}

    def first_call(slot: int) -> None:
        start.wait()
        found[slot] = services.experiments.get_or_create(workspace_name, names[slot]).name

    threads = [threading.Thread(target=first_call, args=(slot,)) for slot in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [found[slot] for slot in range(len(names))] == names
    experiments, _ = services.experiments.search(workspace_name)
    assert sorted(e.name for e in experiments) == ["Default", "a", "b", "c"]
    assert sorted(e.experiment_id for e in experiments) == ["0", "1", "2", "3"]


def test_experiment_lifecycle(services: Services, workspace_name: str) -> None:
    ws = workspace_name
    exp_id = services.experiments.create(ws, "exp-a", tags={"team": "x"})
    assert exp_id == "1"
    with pytest.raises(Conflict, match="already exists"):
        services.experiments.create(ws, "exp-a")
    services.experiments.rename(ws, exp_id, "exp-b")
    assert services.experiments.get(ws, exp_id).name == "exp-b"
    services.experiments.set_stage(ws, exp_id, "deleted")
    active, _ = services.experiments.search(ws)
    assert [e.name for e in active] == ["Default"]
    deleted, _ = services.experiments.search(ws, view_type="DELETED_ONLY")
    assert [e.name for e in deleted] == ["exp-b"]
    with pytest.raises(ValidationError, match="active"):
        services.runs.create(ws, exp_id)
    with pytest.raises(NotFound):
        services.experiments.get_by_name(ws, "nope")


def test_log_and_read_back(services: Services, workspace_name: str) -> None:
    ws = workspace_name
    run = services.runs.create(ws, "0", run_name="first")
    run_id = run.info.run_id
    services.runs.log_batch(
        ws,
        run_id,
        metrics=[Metric(key="loss", value=v, timestamp=i, step=i) for i, v in enumerate([3, 2, 1])]
        + [Metric(key="nan", value=math.nan, timestamp=1, step=0)],
        params=[Param(key="lr", value="0.1")],
        tags=[Tag(key="team", value="vision")],
    )
    got = services.runs.get(ws, run_id)
    assert got.metrics["loss"] == 1 and math.isnan(got.metrics["nan"])
    assert got.params == {"lr": "0.1"}
    assert got.tags["team"] == "vision" and got.tags["mlflow.runName"] == "first"
    history, token = services.runs.metric_history(ws, run_id, "loss", max_results=2)
    assert [(m.step, m.value) for m in history] == [(0, 3), (1, 2)] and token
    rest, token = services.runs.metric_history(ws, run_id, "loss", page_token=token, max_results=2)
    assert [(m.step, m.value) for m in rest] == [(2, 1)] and token is None
    with pytest.raises(ValidationError, match="Changing param values is not allowed"):
        services.runs.log_batch(ws, run_id, params=[Param(key="lr", value="0.2")])
    services.runs.log_batch(ws, run_id, params=[Param(key="lr", value="0.1")])  # same is fine
    services.runs.update(ws, run_id, status="FINISHED", end_time=99)
    info = services.runs.get(ws, run_id).info
    assert (info.status, info.end_time) == ("FINISHED", 99)


def test_latest_metric_is_highest_step_not_last_logged(
    services: Services, workspace_name: str
) -> None:
    run_id = services.runs.create(workspace_name, "0").info.run_id
    services.runs.log_batch(
        workspace_name, run_id, metrics=[Metric(key="m", value=5, step=10, timestamp=1)]
    )
    services.runs.log_batch(
        workspace_name, run_id, metrics=[Metric(key="m", value=1, step=2, timestamp=2)]
    )
    assert services.runs.get(workspace_name, run_id).metrics["m"] == 5


def test_the_same_point_logged_again_is_kept_once(services: Services, workspace_name: str) -> None:
    ws = workspace_name
    run_id = services.runs.create(ws, "0").info.run_id
    point = Metric(key="loss", value=0.5, step=0, timestamp=7)
    nan = Metric(key="loss", value=math.nan, step=1, timestamp=8)
    services.runs.log_batch(ws, run_id, metrics=[point, nan, point])
    services.runs.log_batch(ws, run_id, metrics=[point, nan])
    # a different value, time or step at the same key is a new point
    services.runs.log_batch(
        ws,
        run_id,
        metrics=[
            point.model_copy(update={"value": 0.6}),
            point.model_copy(update={"timestamp": 9}),
        ],
    )
    history, _ = services.runs.metric_history(ws, run_id, "loss")
    seen = [(m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value) for m in history]
    assert seen == [(0, 7, 0.5), (0, 7, 0.6), (0, 9, 0.5), (1, 8, "nan")]


def test_metrics_that_name_a_logged_model_are_kept_on_it(
    services: Services, workspace_name: str
) -> None:
    ws = workspace_name
    run_id = services.runs.create(ws, "0").info.run_id
    model_id = services.logged_models.create(ws, "0", name="m", source_run_id=run_id).info.model_id
    linked = Metric(
        key="acc",
        value=0.9,
        step=0,
        timestamp=5,
        model_id=model_id,
        dataset_name="iris",
        dataset_digest="abc",
    )
    services.runs.log_batch(ws, run_id, metrics=[linked, Metric(key="loss", value=0.1)])
    services.runs.log_batch(
        ws, run_id, metrics=[linked, linked.model_copy(update={"value": math.inf})]
    )
    metrics = services.logged_models.get(ws, model_id).data.metrics
    assert [(m.key, m.value, m.run_id, m.model_id, m.dataset_name) for m in metrics] == [
        ("acc", 0.9, run_id, model_id, "iris"),
        ("acc", math.inf, run_id, model_id, "iris"),
    ]
    # the run's own history stores an infinity as the largest float, as MLflow does
    assert services.runs.get(ws, run_id).metrics == {"acc": sys.float_info.max, "loss": 0.1}
    found, _ = services.logged_models.search(ws, ["0"], filter_string="metrics.acc > 1")
    assert [m.info.model_id for m in found] == [model_id]
    with pytest.raises(NotFound, match="m-nope"):
        services.runs.log_batch(
            ws, run_id, metrics=[linked.model_copy(update={"model_id": "m-nope"})]
        )


def test_batch_limits_use_mlflow_wording(services: Services, workspace_name: str) -> None:
    run_id = services.runs.create(workspace_name, "0").info.run_id
    too_many = [Metric(key=f"m{i}", value=1) for i in range(1001)]
    with pytest.raises(ValidationError, match="at most 1000 metrics"):
        services.runs.log_batch(workspace_name, run_id, metrics=too_many)
    with pytest.raises(ValidationError, match="exceeded length limit of 6000"):
        services.runs.log_batch(workspace_name, run_id, params=[Param(key="p", value="x" * 6001)])
    services.runs.log_batch(workspace_name, run_id, params=[Param(key="p", value="x" * 6000)])
    with pytest.raises(ValidationError, match="may only contain"):
        services.runs.log_batch(workspace_name, run_id, metrics=[Metric(key="../x", value=1)])


def test_search_filters_orders_and_pages(services: Services, workspace_name: str) -> None:
    ws = workspace_name
    exp = services.experiments.create(ws, "search")
    for index in range(7):
        run_id = services.runs.create(ws, exp, run_name=f"r{index}").info.run_id
        services.runs.log_batch(
            ws,
            run_id,
            metrics=[Metric(key="acc", value=index / 10, step=0, timestamp=0)],
            params=[Param(key="lr", value=str(index % 2))],
            tags=[Tag(key="parity", value="even" if index % 2 == 0 else "odd")],
        )
        if index < 3:
            services.runs.update(ws, run_id, status="FINISHED")
    runs, _ = services.runs.search(
        ws, [exp], filter_string="metrics.acc > 0.25", order_by=["metrics.acc DESC"]
    )
    assert [r.info.run_name for r in runs] == ["r6", "r5", "r4", "r3"]
    runs, _ = services.runs.search(
        ws, [exp], filter_string="params.lr = '1' and tags.parity = 'odd' and metrics.acc < 0.5"
    )
    assert sorted(r.info.run_name or "" for r in runs) == ["r1", "r3"]
    runs, _ = services.runs.search(ws, [exp], filter_string="attributes.status = 'FINISHED'")
    assert sorted(r.info.run_name or "" for r in runs) == ["r0", "r1", "r2"]
    runs, _ = services.runs.search(ws, [exp], filter_string="attributes.run_name LIKE 'r%'")
    assert len(runs) == 7
    page, token = services.runs.search(ws, [exp], max_results=3, order_by=["metrics.acc ASC"])
    assert [r.info.run_name for r in page] == ["r0", "r1", "r2"] and token
    page, token = services.runs.search(
        ws, [exp], max_results=3, order_by=["metrics.acc ASC"], page_token=token
    )
    assert [r.info.run_name for r in page] == ["r3", "r4", "r5"]
    with pytest.raises(ValidationError, match="Invalid attribute key"):
        services.runs.search(ws, [exp], filter_string="attributes.nope = 'x'")
    with pytest.raises(ValidationError):
        services.runs.search(ws, [exp], filter_string="metrics.acc > 'high'")


def test_deleted_runs_hide_from_search(services: Services, workspace_name: str) -> None:
    run_id = services.runs.create(workspace_name, "0").info.run_id
    services.runs.set_lifecycle(workspace_name, run_id, "deleted")
    assert services.runs.search(workspace_name, ["0"])[0] == []
    deleted, _ = services.runs.search(workspace_name, ["0"], run_view_type="DELETED_ONLY")
    assert [r.info.run_id for r in deleted] == [run_id]
