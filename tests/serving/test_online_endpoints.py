"""Online endpoints that really serve: the endpoint's host process runs its router and
supervises each deployment's worker processes, all on loopback.

One endpoint per test, torn down at its end (its host stops its workers). Scoring scripts
and models are written by the tests; the model is a JSON file of coefficients, so workers
start in well under a second.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from orchard.entities.assets import Model
from orchard.entities.endpoints import (
    AccessToken,
    CodeConfiguration,
    DataCollector,
    EndpointAuthKeys,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
)
from orchard.errors import OrchardError
from orchard.sdk.client import MLClient
from orchard.security.endpoint_tokens import issue_token

if TYPE_CHECKING:
    from conftest import Cli  # the shared fixture's type; tests/server has a conftest too

# A scoring script as Azure's samples write them: init() loads the model from
# AZUREML_MODEL_DIR, run() scores the JSON body.
SCORE = """
import json, os

def init():
    global weights, name
    root = os.environ["AZUREML_MODEL_DIR"]
    weights = json.load(open(os.path.join(root, "model", "weights.json")))
    # Older samples read the folder's files at the top level: that works too.
    assert json.load(open(os.path.join(root, "weights.json"))) == weights
    name = os.environ.get("DEPLOYMENT_LABEL", "?")

def run(raw_data):
    rows = json.loads(raw_data)["data"]
    if rows == "boom":
        raise ValueError("the model cannot score 'boom'")
    return {"by": name, "scores": [sum(w * x for w, x in zip(weights, row)) for row in rows]}
"""
FAILING_INIT = """
def init():
    raise RuntimeError("weights file is corrupt")

def run(raw_data):
    return "never"
"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("[1.0, 2.0]")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(textwrap.dedent(SCORE))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "score.py").write_text(textwrap.dedent(FAILING_INIT))
    (tmp_path / "request.json").write_text(json.dumps({"data": [[1, 1], [2, 0]]}))
    return tmp_path


@pytest.fixture
def endpoint(ml_client: MLClient) -> Iterator[str]:
    name = f"ep-{ml_client.workspace_name[-8:]}"
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
    yield name
    ml_client.online_endpoints.begin_delete(name).result()


def deployment(
    endpoint: str, name: str, files: Path, *, code: str = "code", count: int = 1
) -> ManagedOnlineDeployment:
    return ManagedOnlineDeployment(
        name=name,
        endpoint_name=endpoint,
        model=Model(name="weights", path=str(files / "model")),
        code_configuration=CodeConfiguration(code=str(files / code), scoring_script="score.py"),
        environment_variables={"DEPLOYMENT_LABEL": name},
        instance_count=count,
    )


def score(ml_client: MLClient, endpoint: str, body: object, **headers: str) -> httpx.Response:
    found = ml_client.online_endpoints.get(endpoint)
    key = ml_client.online_endpoints.get_keys(endpoint).primary_key
    assert found.scoring_uri
    return httpx.post(
        found.scoring_uri,
        json=body,
        headers={"Authorization": f"Bearer {key}", **headers},
        timeout=30,
    )


def test_an_aml_token_endpoint_takes_its_tokens_and_no_key(
    ml_client: MLClient, endpoint: str, files: Path
) -> None:
    ml_client.online_deployments.begin_create_or_update(
        deployment(endpoint, "blue", files)
    ).result()
    keys = ml_client.online_endpoints.get_keys(endpoint)
    assert isinstance(keys, EndpointAuthKeys)
    found = ml_client.online_endpoints.get(endpoint)
    found.traffic, found.auth_mode = {"blue": 100}, "aml_token"
    ml_client.online_endpoints.begin_create_or_update(found).result()
    token = ml_client.online_endpoints.get_keys(endpoint)
    assert isinstance(token, AccessToken)
    assert token.refresh_after_time_utc < token.expiry_time_utc
    assert 3500 < token.expiry_time_utc - time.time() <= 3600
    answer = ml_client.online_endpoints.invoke(endpoint, files / "request.json")
    assert json.loads(answer)["scores"] == [3.0, 2.0]
    uri = ml_client.online_endpoints.get(endpoint).scoring_uri
    assert uri

    def status(bearer: str) -> int:
        headers = {"Authorization": f"Bearer {bearer}"}
        return httpx.post(uri, json={"data": [[1, 0]]}, headers=headers).status_code

    expired, _ = issue_token(keys.primary_key, endpoint, time.time() - 3601)
    other, _ = issue_token(keys.primary_key, "another-endpoint", time.time())
    claims, _, signature = token.access_token.partition(".")
    assert status(token.access_token) == 200
    assert [status(keys.primary_key), status(expired), status(other)] == [401, 401, 401]
    assert status(f"{claims}.{signature[::-1]}") == 401
    ml_client.online_endpoints.begin_regenerate_keys(endpoint, key_type="primary").result()
    ml_client.online_endpoints.begin_create_or_update(found).result()  # the host sees the key
    assert status(token.access_token) == 401  # a new primary key revokes the old tokens


def test_payload_collection_writes_each_answered_request_and_its_answer(
    ml_client: MLClient, endpoint: str, files: Path
) -> None:
    collected = deployment(endpoint, "blue", files)
    collected.data_collector = DataCollector.model_validate(
        {
            "collections": {
                "model_inputs": {"enabled": "True"},
                "model_outputs": {"enabled": "True"},
            },
            "rolling_rate": "Hour",
        }
    )
    ml_client.online_deployments.begin_create_or_update(collected).result()
    found = ml_client.online_endpoints.get(endpoint)
    found.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(found).result()
    bodies = [{"data": [[1, 1]]}, {"data": [[0, 2], [1, 0]]}]
    for body in bodies:
        assert score(ml_client, endpoint, body).status_code == 200
    assert score(ml_client, endpoint, {"data": "boom"}).status_code == 500  # not collected
    store = Path(ml_client.datastores.get("workspaceblobstore").path)  # type: ignore[attr-defined]
    root = store / "modelDataCollector" / endpoint / "blue"

    def events(collection: str) -> list[dict[str, object]]:
        (path,) = (root / collection).rglob("instance-0.jsonl")
        assert len(path.relative_to(root / collection).parts) == 5  # yyyy/MM/dd/HH/file
        return [json.loads(line) for line in path.read_text().splitlines()]

    inputs, outputs = events("model_inputs"), events("model_outputs")
    assert [e["data"] for e in inputs] == bodies
    assert [e["data"] for e in outputs] == [
        {"by": "blue", "scores": [3.0]},
        {"by": "blue", "scores": [4.0, 1.0]},
    ]
    assert [e["correlationid"] for e in inputs] == [e["correlationid"] for e in outputs]
    assert {e["type"] for e in inputs} == {"azureml.inference.model_inputs"}
    assert inputs[0]["source"] == f"/onlineEndpoints/{endpoint}/deployments/blue"


def test_a_deployment_scores_behind_its_endpoint(
    ml_client: MLClient, endpoint: str, files: Path
) -> None:
    ml_client.online_deployments.begin_create_or_update(
        deployment(endpoint, "blue", files)
    ).result()
    found = ml_client.online_endpoints.get(endpoint)
    found.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(found).result()
    answer = ml_client.online_endpoints.invoke(endpoint, files / "request.json")
    assert json.loads(answer) == {"by": "blue", "scores": [3.0, 2.0]}
    assert ml_client.online_deployments.get("blue", endpoint).provisioning_state == "Succeeded"
    scoring_uri = ml_client.online_endpoints.get(endpoint).scoring_uri
    assert scoring_uri
    assert httpx.post(scoring_uri, json={"data": []}).status_code == 401
    wrong = httpx.post(scoring_uri, json={"data": []}, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401
    failing = score(ml_client, endpoint, {"data": "boom"})
    assert failing.status_code == 500 and "cannot score 'boom'" in failing.text
    assert score(ml_client, endpoint, {"data": [[0, 1]]}).json()["scores"] == [2.0]
    assert "Traceback" in ml_client.online_deployments.get_logs("blue", endpoint)
    tagged = score(ml_client, endpoint, {"data": [[1, 0]]}, **{"x-request-id": "req-42"})
    assert tagged.status_code == 200
    deadline = time.monotonic() + 10
    logs = ""
    while "request-id=req-42" not in logs and time.monotonic() < deadline:
        time.sleep(0.1)  # the host flushes request logs twice a second: polled, not guessed
        logs = ml_client.online_deployments.get_logs("blue", endpoint)
    requests = logs.split("--- requests ---", 1)[1].splitlines()
    assert any(" POST /score 500 " in line for line in requests)
    assert any(" POST /score 200 " in line and "request-id=req-42" in line for line in requests)


def test_traffic_moves_between_deployments_without_a_dropped_request(
    ml_client: MLClient, endpoint: str, files: Path
) -> None:
    for name in ("blue", "green"):
        ml_client.online_deployments.begin_create_or_update(
            deployment(endpoint, name, files)
        ).result()
    found = ml_client.online_endpoints.get(endpoint)
    found.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(found).result()
    assert score(ml_client, endpoint, {"data": [[1, 0]]}).json()["by"] == "blue"
    by_header = score(
        ml_client, endpoint, {"data": [[1, 0]]}, **{"azureml-model-deployment": "green"}
    )
    assert by_header.json()["by"] == "green"
    answered: list[str] = []
    failures: list[int] = []
    shifted = threading.Event()

    def keep_scoring() -> None:
        while not shifted.is_set() or len(answered) < 20 or answered[-1] != "green":
            response = score(ml_client, endpoint, {"data": [[1, 0]]})
            if response.status_code != 200:
                failures.append(response.status_code)
                return
            answered.append(response.json()["by"])

    scorer = threading.Thread(target=keep_scoring)
    scorer.start()
    found.traffic = {"blue": 0, "green": 100}
    ml_client.online_endpoints.begin_create_or_update(found).result()
    shifted.set()
    scorer.join(timeout=60)
    assert failures == [] and answered[-1] == "green"
    assert set(answered) <= {"blue", "green"}
    with pytest.raises(OrchardError, match="takes traffic"):
        ml_client.online_deployments.begin_delete("green", endpoint).result()
    ml_client.online_deployments.begin_delete("blue", endpoint).result()
    assert [d.name for d in ml_client.online_deployments.list(endpoint)] == ["green"]


def test_a_deployment_whose_init_fails_never_takes_traffic(
    ml_client: MLClient, endpoint: str, files: Path
) -> None:
    with pytest.raises(OrchardError, match="weights file is corrupt"):
        ml_client.online_deployments.begin_create_or_update(
            deployment(endpoint, "broken", files, code="broken")
        ).result()
    state = ml_client.online_deployments.get("broken", endpoint)
    assert state.provisioning_state == "Failed" and "init() failed" in (state.error or "")
    answer = score(
        ml_client, endpoint, {"data": [[1, 1]]}, **{"azureml-model-deployment": "broken"}
    )
    assert answer.status_code == 503


def test_a_crashed_worker_is_replaced_while_the_others_answer(
    ml_client: MLClient, endpoint: str, files: Path
) -> None:
    ml_client.online_deployments.begin_create_or_update(
        deployment(endpoint, "blue", files, count=2)
    ).result()
    found = ml_client.online_endpoints.get(endpoint)
    found.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(found).result()
    pids = _worker_pids(ml_client, endpoint, "blue")
    assert len(pids) == 2
    os.kill(pids[0], signal.SIGKILL)
    for _ in range(50):  # every request is answered while one instance is down
        assert score(ml_client, endpoint, {"data": [[1, 1]]}).status_code == 200
    logs = ml_client.online_deployments.get_logs("blue", endpoint)
    assert logs.count("--- instance-") == 2


def test_the_workers_of_a_killed_host_stop_themselves(
    ml_client: MLClient, endpoint: str, files: Path
) -> None:
    ml_client.online_deployments.begin_create_or_update(
        deployment(endpoint, "blue", files, count=2)
    ).result()
    pids = _worker_pids(ml_client, endpoint, "blue")
    host = ml_client.settings.home / "endpoints" / ml_client.workspace_name / endpoint
    host_pid = json.loads((host / "host.json").read_text())["pid"]
    assert len(pids) == 2 and all(_parent(pid) == host_pid for pid in pids)
    os.kill(host_pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while _worker_pids(ml_client, endpoint, "blue") and time.monotonic() < deadline:
        time.sleep(0.1)  # polling for the workers to be gone, not waiting out a guess
    assert _worker_pids(ml_client, endpoint, "blue") == []


def _parent(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])


def test_the_cli_creates_invokes_and_deletes_an_endpoint(cli: Cli, files: Path) -> None:
    (files / "endpoint.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n"
        "name: cli-endpoint\nauth_mode: key\n"
    )
    (files / "blue.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n"
        "name: blue\nendpoint_name: cli-endpoint\nmodel:\n  path: ./model\n"
        "code_configuration:\n  code: ./code\n  scoring_script: score.py\n"
        "instance_type: Standard_DS2_v2\ninstance_count: 1\n"
    )
    try:
        cli.ok("online-endpoint", "create", "-f", str(files / "endpoint.yml"))
        cli.ok("online-deployment", "create", "-f", str(files / "blue.yml"), "--all-traffic")
        answer = cli.ok(
            "online-endpoint", "invoke", "-n", "cli-endpoint", "-r", str(files / "request.json")
        )
        assert json.loads(answer.stdout)["scores"] == [3.0, 2.0]
        keys = json.loads(cli.ok("online-endpoint", "get-credentials", "-n", "cli-endpoint").stdout)
        assert keys["primary_key"] and keys["secondary_key"] != keys["primary_key"]
        shown = json.loads(
            cli.ok("online-endpoint", "show", "-n", "cli-endpoint", "-o", "json").stdout
        )
        assert shown["traffic"] == {"blue": 100}
        bad = cli("online-endpoint", "update", "-n", "cli-endpoint", "--traffic", "nope=100")
        assert bad.code == 2 and "no deployment named 'nope'" in bad.stderr
    finally:
        cli.ok("online-endpoint", "delete", "-n", "cli-endpoint", "--yes")
    assert cli("online-endpoint", "show", "-n", "cli-endpoint").code == 3


def _worker_pids(ml_client: MLClient, endpoint: str, name: str) -> list[int]:
    """The deployment's worker processes, found by their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"orchard.serving.worker" in argv and name.encode() in argv:
            home = str(ml_client.settings.home).encode()
            if any(home in arg and endpoint.encode() in arg for arg in argv):
                found.append(int(entry.name))
    return sorted(found)
