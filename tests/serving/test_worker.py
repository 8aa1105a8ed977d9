"""The scoring worker as the endpoint host runs it: a real process on a loopback port, serving
scoring scripts written the way Azure ML's are. The helpers here serve the other test_worker
files too."""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

READY_SECONDS = 120.0  # an MLflow model's first load on a cold machine takes a while


@dataclass
class Worker:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_worker(log: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    argv = [sys.executable, "-m", "orchard.serving.worker", "--port", str(port), *args]
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
    return process, port


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until GET / answers 200; fails at once if the worker exits first."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:  # paces the polls and notices an early exit in one call
            code = process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the worker exited with {code}:\n{log.read_text()}")
    raise AssertionError(f"the worker did not answer GET / in time:\n{log.read_text()}")


@contextmanager
def serving(log: Path, *args: str) -> Iterator[Worker]:
    process, port = start_worker(log, *args)
    try:
        wait_ready(process, port, log)
        yield Worker(f"http://127.0.0.1:{port}", process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_code(root: Path, script: str, **files: str) -> Path:
    code = root / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "score.py").write_text(textwrap.dedent(script))
    for name, text in files.items():
        (code / name).write_text(textwrap.dedent(text))
    return code


@contextmanager
def serving_script(root: Path, script: str, *args: str, **files: str) -> Iterator[Worker]:
    code = write_code(root, script, **files)
    model_dir = root / "models"
    model_dir.mkdir(exist_ok=True)
    with serving(
        root / "worker.log",
        *("--model-dir", str(model_dir), "--code", str(code), "--scoring-script", "score.py"),
        *args,
    ) as worker:
        yield worker


def post(worker: Worker, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{worker.url}/score", json=body, headers=headers, timeout=30)


SKLEARN_SCRIPT = """
    import json, os, pickle
    from helpers import as_rows  # a module next to the script: --code is on sys.path

    def init():
        global model, labels
        path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model", "model.pkl")
        with open(path, "rb") as f:
            model = pickle.load(f)
        with open("labels.json") as f:  # relative: the code folder is the working directory
            labels = json.load(f)

    def run(raw_data):
        predictions = model.predict(as_rows(json.loads(raw_data)))
        return {"predictions": predictions.tolist(), "labels": [labels[p] for p in predictions]}
"""


def test_a_script_reads_its_folder_model_and_scores(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    rows = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]]
    model = LogisticRegression().fit(rows, [0, 1, 0, 1])
    (tmp_path / "models" / "model").mkdir(parents=True)
    (tmp_path / "models" / "model" / "model.pkl").write_bytes(pickle.dumps(model))
    helpers = "def as_rows(body):\n    return body['data']\n"
    labels = json.dumps(["left", "right"])
    with serving_script(
        tmp_path, SKLEARN_SCRIPT, **{"helpers.py": helpers, "labels.json": labels}
    ) as worker:
        answer = post(worker, {"data": [[0.0, 1.0], [1.0, 0.1]]})
    assert answer.status_code == 200, answer.text
    expected = model.predict([[0.0, 1.0], [1.0, 0.1]]).tolist()
    assert answer.json() == {"predictions": expected, "labels": ["left", "right"]}
    assert float(answer.headers["x-ms-run-fn-exec-ms"]) >= 0


ECHO_SCRIPT = """
    import json
    calls = 0

    def init():
        pass

    def run(data):
        global calls
        calls += 1
        body = json.loads(data)
        if body.get("fail"):
            raise ValueError("no such feature: " + body["fail"])
        if body.get("as") == "json-text":
            return json.dumps({"calls": calls})
        return {"calls": calls, "input": body}
"""


@pytest.fixture(scope="module")
def echo_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    with serving_script(tmp_path_factory.mktemp("echo"), ECHO_SCRIPT) as worker:
        yield worker


def calls_so_far(worker: Worker) -> int:
    answer = post(worker, {})
    assert answer.status_code == 200, answer.text
    calls: int = answer.json()["calls"]
    return calls


def test_liveness_answers_healthy(echo_worker: Worker) -> None:
    answer = httpx.get(f"{echo_worker.url}/")
    assert (answer.status_code, answer.text) == (200, "Healthy")


def test_run_raising_is_a_500_naming_the_error_and_the_worker_goes_on(echo_worker: Worker) -> None:
    failed = post(echo_worker, {"fail": "petal_size"})
    assert failed.status_code == 500
    assert "ValueError: no such feature: petal_size" in failed.json()["message"]
    assert failed.headers["x-ms-run-function-failed"] == "True"
    assert post(echo_worker, {"ok": 1}).status_code == 200
    assert "ValueError: no such feature: petal_size" in echo_worker.output()  # the traceback


def test_a_body_declared_json_that_does_not_parse_is_a_400_and_run_is_not_called(
    echo_worker: Worker,
) -> None:
    before = calls_so_far(echo_worker)
    bad = httpx.post(
        f"{echo_worker.url}/score",
        content=b'{"data": [1, 2',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_JSON"
    assert "not valid JSON" in bad.json()["message"]
    assert calls_so_far(echo_worker) == before + 1  # only the counting call itself


def test_a_body_not_declared_json_reaches_run_as_text(echo_worker: Worker) -> None:
    answer = httpx.post(
        f"{echo_worker.url}/score", content=b'{"x": 1}', headers={"content-type": "text/plain"}
    )
    assert answer.status_code == 200
    assert answer.json()["input"] == {"x": 1}


def test_a_str_from_run_is_sent_as_a_json_string_as_azure_sends_it(echo_worker: Worker) -> None:
    answer = post(echo_worker, {"as": "json-text"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert isinstance(answer.json(), str)  # Azure's server json.dumps()es what run() returns
    assert "calls" in json.loads(answer.json())


def test_get_score_passes_the_query_parameters_as_the_input(echo_worker: Worker) -> None:
    answer = httpx.get(f"{echo_worker.url}/score", params=[("a", "1"), ("b", "x"), ("b", "[2]")])
    assert answer.status_code == 200
    assert answer.json()["input"] == {"a": 1, "b": ["x", [2]]}


def test_swagger_without_decorators_says_input_and_output_are_free_form(
    echo_worker: Worker,
) -> None:
    v2 = httpx.get(f"{echo_worker.url}/swagger.json").json()
    assert v2["swagger"] == "2.0"
    assert v2["definitions"]["ServiceInput"] == {"type": "object", "example": {}}
    assert set(v2["paths"]) == {"/", "/score"}
    v3 = httpx.get(f"{echo_worker.url}/swagger.json", params={"version": "3"}).json()
    assert v3["openapi"] == "3.0.3"
    assert v3["components"]["schemas"]["ServiceOutput"] == {"type": "object", "example": {}}
    unknown = httpx.get(f"{echo_worker.url}/swagger.json", params={"version": "9"})
    assert unknown.status_code == 404
    assert "[9]" in unknown.json()["message"]


RESPONSES_SCRIPT = """
    import numpy as np

    class AMLResponse:
        # The shape of azureml's AMLResponse, a flask.Response, without Flask.
        def __init__(self, message, status_code, response_headers):
            self.status_code = status_code
            self.headers = {"Content-Type": "text/csv", **response_headers}
            self._body = message.encode()

        def get_data(self):
            return self._body

    def init():
        pass

    def run(data, request_headers):
        if data == "raw":
            return AMLResponse("a,b\\n1,2\\n", 201, {"x-model": "v2"})
        tenant = request_headers["x-tenant"]
        return {"array": np.arange(3), "mean": np.float64(1.5), "tenant": tenant}
"""


def test_responses_arrays_and_request_headers(tmp_path: Path) -> None:
    with serving_script(tmp_path, RESPONSES_SCRIPT) as worker:
        raw = httpx.post(f"{worker.url}/score", content=b"raw")
        converted = post(worker, {}, headers={"x-tenant": "blue"})
    assert (raw.status_code, raw.text) == (201, "a,b\n1,2\n")
    assert raw.headers["content-type"] == "text/csv"
    assert raw.headers["x-model"] == "v2"
    assert converted.json() == {"array": [0, 1, 2], "mean": 1.5, "tenant": "blue"}


SCHEMA_SCRIPT = """
    import numpy as np
    from inference_schema.schema_decorators import input_schema, output_schema
    from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
    from inference_schema.parameter_types.standard_py_parameter_type import (
        StandardPythonParameterType,
    )

    def init():
        pass

    @input_schema("data", NumpyParameterType(np.array([[1.0, 2.0, 3.0]])))
    @input_schema("scale", StandardPythonParameterType(1.0), optional=True)
    @output_schema(NumpyParameterType(np.array([6.0])))
    def run(data, scale=1.0):
        assert isinstance(data, np.ndarray), type(data)  # inference-schema converted it
        return (data.sum(axis=1) * scale).tolist()
"""


def test_inference_schema_run_gets_keyword_arguments_and_swagger_from_the_schema(
    tmp_path: Path,
) -> None:
    pytest.importorskip("inference_schema")
    with serving_script(tmp_path, SCHEMA_SCRIPT) as worker:
        scored = post(worker, {"data": [[1, 2, 3], [1, 1, 1]], "scale": 2})
        defaulted = post(worker, {"data": [[1, 2, 3]]})
        missing = post(worker, {"scale": 2})
        not_json = httpx.post(f"{worker.url}/score", content=b'{"data": [[1, 2, 3]]}')
        swagger = httpx.get(f"{worker.url}/swagger.json").json()
    assert (scored.status_code, scored.json()) == (200, [12.0, 6.0])
    assert defaulted.json() == [6.0]
    assert missing.status_code == 400
    assert "'data'" in missing.json()["message"]
    assert not_json.status_code == 415
    service_input = swagger["definitions"]["ServiceInput"]
    assert service_input["properties"]["data"]["format"] == "numpy.ndarray"
    assert service_input["example"] == {"data": [[1.0, 2.0, 3.0]], "scale": 1.0}
    assert swagger["definitions"]["ServiceOutput"]["example"] == [6.0]


def test_a_swagger_file_next_to_the_script_wins(tmp_path: Path) -> None:
    own = {"swagger": "2.0", "info": {"title": "hand written", "version": "7"}, "paths": {}}
    with serving_script(tmp_path, ECHO_SCRIPT, **{"swagger.json": json.dumps(own)}) as worker:
        assert httpx.get(f"{worker.url}/swagger.json").json() == own
