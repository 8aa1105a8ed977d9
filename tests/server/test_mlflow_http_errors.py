"""Raw HTTP against the app in process: MLflow's error shape and statuses, request
parsing (JSON, query strings, camelCase), limits, and the ajax and workspace twins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from orchard.services import Services

pytestmark = pytest.mark.anyio
API = "/api/2.0/mlflow"


async def _run(api: httpx.AsyncClient, prefix: str = "") -> str:
    created = await api.post(f"{prefix}{API}/runs/create", json={"experiment_id": "0"})
    assert created.status_code == 200, created.text
    run_id: str = created.json()["run"]["info"]["run_id"]
    return run_id


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code, body
    message: str = body["message"]
    return message


async def test_unknown_things_are_404_resource_does_not_exist(api: httpx.AsyncClient) -> None:
    _error(
        await api.get(f"{API}/runs/get", params={"run_id": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    _error(
        await api.get(f"{API}/experiments/get", params={"experiment_id": "42"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        await api.get(f"{API}/registered-models/get", params={"name": "nope"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        await api.get(
            "/workspaces/no-such-workspace/api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": "Default"},
        ),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(await api.get(f"{API}/no-such-route"), 404, "ENDPOINT_NOT_FOUND")
    _error(await api.delete(f"{API}/runs/create"), 405, "ENDPOINT_NOT_FOUND")


async def test_bad_requests_are_400(api: httpx.AsyncClient) -> None:
    malformed = await api.post(f"{API}/runs/create", content=b"{not json")
    assert "Malformed JSON" in _error(malformed, 400, "BAD_REQUEST")
    _error(await api.post(f"{API}/runs/create", content=b"[1, 2]"), 400, "BAD_REQUEST")
    missing = await api.get(f"{API}/experiments/get")
    assert _error(missing, 400, "INVALID_PARAMETER_VALUE").startswith(
        "Missing value for required parameter 'experiment_id'."
    )
    wrong = await api.post(f"{API}/experiments/create", json={"name": 5})
    assert "Invalid value 5 for parameter 'name' supplied" in _error(
        wrong, 400, "INVALID_PARAMETER_VALUE"
    )
    typo = await api.post(f"{API}/experiments/create", json={"name": "x", "tgas": []})
    assert "'tgas'" in _error(typo, 400, "INVALID_PARAMETER_VALUE")
    bad_int = await api.post(f"{API}/runs/search", json={"max_results": "many"})
    _error(bad_int, 400, "INVALID_PARAMETER_VALUE")


async def test_conflicts_and_limits(api: httpx.AsyncClient) -> None:
    assert (await api.post(f"{API}/experiments/create", json={"name": "dup"})).status_code == 200
    again = await api.post(f"{API}/experiments/create", json={"name": "dup"})
    assert "already exists" in _error(again, 400, "RESOURCE_ALREADY_EXISTS")
    run_id = await _run(api)
    metrics = [{"key": "m", "value": i, "timestamp": i, "step": i} for i in range(1001)]
    too_many = await api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    assert "at most 1000 metrics" in _error(too_many, 400, "INVALID_PARAMETER_VALUE")
    param = {"run_id": run_id, "key": "p", "value": "1"}
    assert (await api.post(f"{API}/runs/log-parameter", json=param)).status_code == 200
    changed = await api.post(f"{API}/runs/log-parameter", json={**param, "value": "2"})
    _error(changed, 400, "INVALID_PARAMETER_VALUE")
    bad_key = {"run_id": run_id, "key": "../x", "value": 1.0, "timestamp": 1}
    _error(await api.post(f"{API}/runs/log-metric", json=bad_key), 400, "INVALID_PARAMETER_VALUE")
    await api.post(f"{API}/registered-models/create", json={"name": "m"})
    dup_model = await api.post(f"{API}/registered-models/create", json={"name": "m"})
    _error(dup_model, 400, "RESOURCE_ALREADY_EXISTS")
    bad_name = await api.post(f"{API}/registered-models/create", json={"name": "has space"})
    _error(bad_name, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "path",
    ["%2e%2e/%2e%2e/etc/passwd", "a/%2e%2e/%2e%2e/b", "%252e%252e/x", "a/..%5c..%5cb"],
)
async def test_artifact_traversal_is_refused(api: httpx.AsyncClient, path: str) -> None:
    root = "/api/2.0/mlflow-artifacts/artifacts"
    _error(await api.put(f"{root}/{path}", content=b"x"), 400, "INVALID_PARAMETER_VALUE")
    _error(await api.get(f"{root}/{path}"), 400, "INVALID_PARAMETER_VALUE")
    _error(await api.delete(f"{root}/{path}"), 400, "INVALID_PARAMETER_VALUE")


async def test_traversal_in_query_paths_and_sources_is_refused(api: httpx.AsyncClient) -> None:
    run_id = await _run(api)
    checks = [
        api.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "../.."}),
        api.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "/etc"}),
        api.get("/get-artifact", params={"run_id": run_id, "path": "../../../x"}),
        api.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": "a/../../.."}),
        api.post(
            "/ajax-api/2.0/mlflow/upload-artifact",
            params={"run_id": run_id, "path": "../escape.txt"},
            content=b"x",
        ),
    ]
    for request in checks:
        _error(await request, 400, "INVALID_PARAMETER_VALUE")
    await api.post(f"{API}/registered-models/create", json={"name": "m"})
    for source in ("mlflow-artifacts:/../../etc", "/etc/passwd", f"runs:/{run_id}/../../x"):
        created = await api.post(
            f"{API}/model-versions/create", json={"name": "m", "source": source}
        )
        _error(created, 400, "INVALID_PARAMETER_VALUE")


async def test_twins_serve_the_same_api(api: httpx.AsyncClient, services: Services) -> None:
    from orchard.entities.workspace import Workspace

    run_id = await _run(api)
    for prefix in ("/ajax-api/2.0/mlflow", API):
        got = await api.get(f"{prefix}/runs/get", params={"run_id": run_id})
        assert got.json()["run"]["info"]["run_id"] == run_id
    services.workspaces.create(Workspace(name="team-b"))
    in_b = await _run(api, prefix="/workspaces/team-b")
    twin = await api.get("/workspaces/team-b/ajax-api/2.0/mlflow/runs/get", params={"run_id": in_b})
    assert twin.status_code == 200
    _error(
        await api.get(f"{API}/runs/get", params={"run_id": in_b}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    for url in ("/health", "/workspaces/team-b/health"):
        assert (await api.get(url)).text == "OK"
    assert (await api.get("/version")).text.startswith("3.")
    info = await api.get("/workspaces/team-b/api/3.0/mlflow/server-info")
    assert info.json()["multipart_uploads_enabled"] is False


async def test_clients_send_json_or_query_strings(api: httpx.AsyncClient) -> None:
    run_id = await _run(api)
    body = {"runId": run_id, "key": "loss", "value": "NaN", "timestamp": "5", "step": 2}
    assert (await api.post(f"{API}/runs/log-metric", json=body)).status_code == 200
    got = await api.request("GET", f"{API}/runs/get", json={"run_id": run_id})
    assert got.json()["run"]["data"]["metrics"] == [
        {"key": "loss", "value": "NaN", "timestamp": 5, "step": 2}
    ]
    history = await api.get(
        f"{API}/metrics/get-history", params={"run_uuid": run_id, "metric_key": "loss"}
    )
    assert history.json() == {
        "metrics": [{"key": "loss", "value": "NaN", "timestamp": 5, "step": 2}]
    }
    search = await api.get(
        f"{API}/experiments/search", params={"max_results": "5", "view_type": "ALL"}
    )
    assert [e["name"] for e in search.json()["experiments"]] == ["Default"]


async def test_log_model_history_tag(api: httpx.AsyncClient) -> None:
    run_id = await _run(api)
    model = {"artifact_path": "m", "flavors": {}, "utc_time_created": "now", "run_id": run_id}
    import json

    for _ in range(2):
        body = {"run_id": run_id, "model_json": json.dumps(model)}
        assert (await api.post(f"{API}/runs/log-model", json=body)).status_code == 200
    tags = (await api.get(f"{API}/runs/get", params={"run_id": run_id})).json()["run"]["data"]
    history = {t["key"]: t["value"] for t in tags["tags"]}["mlflow.log-model.history"]
    assert json.loads(history) == [model, model]
    incomplete = {"run_id": run_id, "model_json": json.dumps({"flavors": {}})}
    _error(await api.post(f"{API}/runs/log-model", json=incomplete), 400, "INVALID_PARAMETER_VALUE")


async def test_an_unexpected_error_is_a_500_in_the_same_shape(
    app: FastAPI, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(services.experiments, "get", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://orchard") as client:
        response = await client.get(f"{API}/experiments/get", params={"experiment_id": "0"})
    assert "a bug" not in _error(response, 500, "INTERNAL_ERROR")
