"""Raw HTTP against the app in process: logged models, metric histories in bulk, the
artifact routes, and a check that every MLflow RPC Orchard serves sits at MLflow's path
and method and accepts every field of MLflow's request message."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from mlflow.protos.model_registry_pb2 import ModelRegistryService
from mlflow.protos.service_pb2 import MlflowService
from mlflow.utils.rest_utils import extract_api_info_for_service

from orchard.server.mlflow.messages import Message
from orchard.server.paths import canonical_path

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
SERVED_TRACKING_RPCS = {
    "GetExperimentByName", "CreateExperiment", "SearchExperiments", "GetExperiment",
    "DeleteExperiment", "RestoreExperiment", "UpdateExperiment", "SetExperimentTag",
    "DeleteExperimentTag", "CreateRun", "UpdateRun", "DeleteRun", "RestoreRun", "GetRun",
    "SearchRuns", "LogMetric", "LogParam", "SetTag", "DeleteTag", "LogBatch", "LogModel",
    "LogInputs", "LogOutputs", "ListArtifacts", "GetMetricHistory",
    "GetMetricHistoryBulkInterval", "CreateLoggedModel", "FinalizeLoggedModel",
    "GetLoggedModel", "DeleteLoggedModel", "SearchLoggedModels", "SetLoggedModelTags",
    "DeleteLoggedModelTag", "ListLoggedModelArtifacts", "LogLoggedModelParamsRequest",
}  # fmt: skip


@pytest.mark.anyio
async def test_logged_model_lifecycle(api: httpx.AsyncClient) -> None:
    run = (await api.post(f"{API}/runs/create", json={"experiment_id": "0"})).json()["run"]
    body = {
        "experiment_id": "0",
        "name": "clf",
        "source_run_id": run["info"]["run_id"],
        "params": [{"key": "alpha", "value": "1"}],
        "tags": [{"key": "t", "value": "v"}],
    }
    model = (await api.post(f"{API}/logged-models", json=body)).json()["model"]
    model_id = model["info"]["model_id"]
    assert model["info"]["artifact_uri"] == f"mlflow-artifacts:/0/models/{model_id}/artifacts"
    assert model["info"]["status"] == "LOGGED_MODEL_PENDING"
    url = f"{API}/logged-models/{model_id}"
    await api.put(f"{ARTIFACTS}/0/models/{model_id}/artifacts/MLmodel", content=b"flavors: {}")
    listed = await api.get(f"{url}/artifacts/directories")
    assert listed.json()["files"] == [{"path": "MLmodel", "is_dir": False, "file_size": 11}]
    done = await api.patch(url, json={"model_id": model_id, "status": "LOGGED_MODEL_READY"})
    assert done.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    await api.patch(f"{url}/tags", json={"tags": [{"key": "a/b", "value": "1"}]})
    await api.post(f"{url}/params", json={"params": [{"key": "beta", "value": "2"}]})
    assert (await api.delete(f"{url}/tags/t")).status_code == 200
    got = (await api.get(url)).json()["model"]
    assert got["info"]["tags"] == [{"key": "a/b", "value": "1"}]
    assert got["data"]["params"] == [{"key": "alpha", "value": "1"}, {"key": "beta", "value": "2"}]
    search = {"experiment_ids": ["0"], "filter": "params.beta = '2' AND name = 'clf'"}
    found = (await api.post(f"{API}/logged-models/search", json=search)).json()
    assert [m["info"]["model_id"] for m in found["models"]] == [model_id]
    assert (await api.delete(url)).status_code == 200
    assert (await api.get(url)).status_code == 404
    assert (await api.get(url, params={"allow_deleted": "true"})).status_code == 200


@pytest.mark.anyio
async def test_metric_history_in_bulk(api: httpx.AsyncClient) -> None:
    run_ids = []
    for offset in (0, 1000):
        run = (await api.post(f"{API}/runs/create", json={"experiment_id": "0"})).json()
        run_id = run["run"]["info"]["run_id"]
        run_ids.append(run_id)
        metrics = [{"key": "m", "value": s, "timestamp": offset + s, "step": s} for s in range(100)]
        await api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    whole = await api.get(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk",
        params={"run_id": run_ids, "metric_key": "m", "max_results": 150},
    )
    points = whole.json()["metrics"]
    assert len(points) == 150 and {p["run_id"] for p in points} == set(run_ids)
    sampled = await api.get(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
        params={"run_ids": run_ids, "metric_key": "m", "max_results": 10},
    )
    steps = [p["step"] for p in sampled.json()["metrics"] if p["run_id"] == run_ids[0]]
    assert steps == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99]
    window = await api.get(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
        params={"run_ids": run_ids[:1], "metric_key": "m", "start_step": 40, "end_step": 44},
    )
    assert [p["step"] for p in window.json()["metrics"]] == [40, 41, 42, 43, 44]
    half = await api.get(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
        params={"run_ids": run_ids[:1], "metric_key": "m", "start_step": 40},
    )
    assert half.status_code == 400


@pytest.mark.anyio
async def test_run_and_model_version_artifacts(api: httpx.AsyncClient) -> None:
    run = (await api.post(f"{API}/runs/create", json={"experiment_id": "0"})).json()["run"]
    run_id = run["info"]["run_id"]
    big = bytes(range(256)) * 12_000  # 3 MB, streamed in several chunks
    upload = await api.post(
        "/ajax-api/2.0/mlflow/upload-artifact",
        params={"run_id": run_id, "path": "model/weights.bin"},
        content=big,
    )
    assert upload.status_code == 200, upload.text
    await api.put(f"{ARTIFACTS}/0/{run_id}/artifacts/model/MLmodel", content=b"flavors: {}")
    listed = await api.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": "model"})
    assert listed.json()["files"] == [
        {"path": "model/MLmodel", "is_dir": False, "file_size": 11},
        {"path": "model/weights.bin", "is_dir": False, "file_size": len(big)},
    ]
    got = await api.get("/get-artifact", params={"run_id": run_id, "path": "model/weights.bin"})
    assert got.content == big
    await api.post(f"{API}/registered-models/create", json={"name": "m"})
    version = await api.post(
        f"{API}/model-versions/create", json={"name": "m", "source": f"runs:/{run_id}/model"}
    )
    assert version.json()["model_version"]["run_id"] == run_id
    file = await api.get(
        "/model-versions/get-artifact", params={"name": "m", "version": "1", "path": "MLmodel"}
    )
    assert file.text == "flavors: {}"
    uri = await api.get(
        f"{API}/model-versions/get-download-uri", params={"name": "m", "version": 1}
    )
    assert uri.json() == {"artifact_uri": f"mlflow-artifacts:/0/{run_id}/artifacts/model"}


def _route_table(app: FastAPI) -> dict[tuple[str, str], Callable[..., Any]]:
    """(path, method) -> endpoint of every route, however the app nests its routers."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI includes routers lazily

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = list(app.routes)
    return {
        (str(route.path).replace(":path", ""), method): route.endpoint
        for route in routes
        for method in (getattr(route, "methods", None) or ())
    }


def _body_model(endpoint: Callable[..., Any]) -> type[Message] | None:
    hints = typing.get_type_hints(endpoint, include_extras=True)
    if "body" not in hints:
        return None
    model: type[Message] = typing.get_args(hints["body"])[0]
    return model


def _missing(model: type[Any], descriptor: Any, path: str, skip: set[str]) -> list[str]:
    spellings: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        spellings[name] = spellings[str(field.alias or name)] = field.annotation
    missing = []
    for field in descriptor.fields:
        if field.name in skip:
            continue
        if field.name not in spellings:
            missing.append(f"{path}{field.name}")
            continue
        if field.message_type is not None and not field.message_type.GetOptions().map_entry:
            inner = [
                a
                for a in (spellings[field.name], *typing.get_args(spellings[field.name]))
                if isinstance(a, type) and issubclass(a, Message)
            ]
            for nested in inner:
                missing += _missing(nested, field.message_type, f"{path}{field.name}.", set())
    return missing


def test_served_rpcs_match_mlflows_paths_and_messages(app: FastAPI) -> None:
    routes = _route_table(app)
    tracking = extract_api_info_for_service(MlflowService, "/api/2.0")
    rpcs = {
        **{r: info for r, info in tracking.items() if r.__name__ in SERVED_TRACKING_RPCS},
        **extract_api_info_for_service(ModelRegistryService, "/api/2.0"),
    }
    checked = 0
    for request, (path, method) in rpcs.items():
        name = request.__name__
        route = routes.get((path, method))
        assert route is not None, f"{name}: no {method} {path}"
        model = _body_model(route)
        assert model is not None, f"{name}: {path} reads no request message"
        path_params = {part.strip("{}") for part in path.split("/") if part.startswith("{")}
        assert _missing(model, request.DESCRIPTOR, "", path_params) == [], name
        # the UI's and the workspaces' spellings reach the same route
        for twin in (path.replace("/api/", "/ajax-api/", 1), f"/workspaces/ws-a{path}"):
            assert canonical_path(twin)[1] == path, name
        checked += 1
    assert checked == len(SERVED_TRACKING_RPCS) + 21
