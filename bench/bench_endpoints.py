"""Online scoring: an Orchard online endpoint (through its router) versus `mlflow models
serve` and versus a minimal FastAPI app calling `predict`, side by side in one run.

The same scikit-learn model (an MLflow model: logistic regression on 8 features) behind
each, one worker process each (Orchard's router is a process of its own in front), the
same `dataframe_split` JSON bodies of 1 and of 100 rows. Load comes from `wrk` (a
separate process, keep-alive connections on loopback) at concurrency 1, 8 and 32, for a
fixed time per run, the servers taking turns, round after round; each cell is the median of
its runs. Requests/s and p50/p99 latency; every answer must be a 200, and
each server's answer to each body is checked against the model's own predictions first.

Targets (issue 8): at concurrency 8, at least 2x the MLflow server's requests/s; p50
within 1.3x of the minimal app's.

    apt-get install wrk    # if it is not there
    .venv/bin/python bench/bench_endpoints.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from orchard import MLClient
from orchard.entities import (
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
)

FEATURES = [f"f{i}" for i in range(8)]
CONCURRENCY = (1, 8, 32)
ROW_COUNTS = (1, 100)
MINIMAL_APP = """
import os
import mlflow.pyfunc
import pandas as pd
from fastapi import FastAPI

app = FastAPI()
model = mlflow.pyfunc.load_model(os.environ["MODEL_PATH"])


@app.post("/predict")
def predict(body: dict):
    frame = pd.DataFrame(**body["dataframe_split"])
    return {"predictions": model.predict(frame).tolist()}
"""
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = io.open("{body}"):read("*a")
wrk.headers["Content-Type"] = "application/json"
{auth}
"""


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Cell:
    requests_per_s: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in 120 s")


@contextmanager
def process_server(
    name: str, command: list[str], path: str, env: dict[str, str], log: Path, port: int
) -> Iterator[Server]:
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", process, log)
        yield Server(name, f"http://127.0.0.1:{port}{path}", {})
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def orchard_server(home: Path, model_path: Path) -> Iterator[Server]:
    client = MLClient(home=home, workspace_name="bench")
    client.models.create_or_update(
        Model(name="bench-clf", path=str(model_path), type="mlflow_model")
    )
    endpoint = ManagedOnlineEndpoint(name="bench-endpoint", auth_mode="key")
    client.online_endpoints.begin_create_or_update(endpoint).result()
    deployment = ManagedOnlineDeployment(
        name="blue",
        endpoint_name="bench-endpoint",
        model="azureml:bench-clf:1",
        instance_count=1,
        # Azure's default is 1 (more at once get 429); the other servers take all comers.
        request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=64),
    )
    client.online_deployments.begin_create_or_update(deployment).result()
    endpoint.traffic = {"blue": 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    found = client.online_endpoints.get("bench-endpoint")
    key = client.online_endpoints.get_keys("bench-endpoint").primary_key
    try:
        assert found.scoring_uri
        yield Server("Orchard endpoint", found.scoring_uri, {"Authorization": f"Bearer {key}"})
    finally:
        client.online_endpoints.begin_delete("bench-endpoint").result()
        client.close()


def bodies(root: Path, model_path: Path) -> dict[int, tuple[Path, list[int]]]:
    """Each payload file by its row count, with the model's own predictions for it."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(model_path))
    rng = np.random.default_rng(11)
    made = {}
    for rows in ROW_COUNTS:
        frame = pd.DataFrame(rng.normal(size=(rows, len(FEATURES))).round(4), columns=FEATURES)
        path = root / f"body-{rows}.json"
        path.write_text(json.dumps({"dataframe_split": frame.to_dict(orient="split")}))
        made[rows] = (path, model.predict(frame).tolist())
    return made


def check_answers(server: Server, payloads: dict[int, tuple[Path, list[int]]]) -> None:
    for rows, (path, expected) in payloads.items():
        headers = {"Content-Type": "application/json", **server.headers}
        answer = httpx.post(server.url, content=path.read_bytes(), headers=headers, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        got = body["predictions"] if isinstance(body, dict) else body
        if got != expected:
            raise SystemExit(
                f"{server.name} answered {got[:5]}... for {rows} rows, not {expected[:5]}"
            )


def load(server: Server, body: Path, concurrency: int, seconds: int, root: Path) -> Cell:
    auth = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in server.headers.items())
    script = root / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=body, auth=auth))
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, server.url], capture_output=True, text=True, check=True)
    text = done.stdout
    if "Non-2xx" in text or "Socket errors" in text:
        raise SystemExit(f"{server.name} failed requests under load:\n{text}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    return Cell(rate, _percentile(text, "50"), _percentile(text, "99"))


def median_cell(cells: list[Cell]) -> Cell:
    return Cell(
        statistics.median(c.requests_per_s for c in cells),
        statistics.median(c.p50_ms for c in cells),
        statistics.median(c.p99_ms for c in cells),
    )


def _percentile(text: str, which: str) -> float:
    found = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    assert found, text
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    return float(found.group(1)) * scale


def make_model(root: Path) -> Path:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    train = pd.DataFrame(rng.normal(size=(2_000, len(FEATURES))), columns=FEATURES)
    labels = (train["f0"] + train["f1"] > 0).astype(int)
    model = LogisticRegression().fit(train, labels)
    signature = infer_signature(train, model.predict(train))
    mlflow.sklearn.save_model(model, str(root / "model"), signature=signature)
    return root / "model"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=3, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory(prefix="orchard-bench-endpoints-") as scratch:
        root = Path(scratch)
        model_path = make_model(root)
        payloads = bodies(root, model_path)
        (root / "minimal_app.py").write_text(MINIMAL_APP)
        mlflow_port, minimal_port = free_port(), free_port()
        mlflow_command = [
            "mlflow", "models", "serve", "-m", str(model_path), "--env-manager", "local",
            "-h", "127.0.0.1", "-p", str(mlflow_port),
        ]  # fmt: skip
        minimal_command = [
            sys.executable, "-m", "uvicorn", "minimal_app:app", "--app-dir", str(root),
            "--host", "127.0.0.1", "--port", str(minimal_port), "--log-level", "warning",
        ]  # fmt: skip
        servers = [
            lambda: orchard_server(root / "home", model_path),
            lambda: process_server(
                "mlflow models serve", mlflow_command, "/invocations", env,
                root / "mlflow.log", mlflow_port,
            ),
            lambda: process_server(
                "minimal FastAPI", minimal_command, "/predict",
                {**env, "MODEL_PATH": str(model_path)}, root / "minimal.log", minimal_port,
            ),
        ]  # fmt: skip
        with contextlib.ExitStack() as stack:
            running = [stack.enter_context(start()) for start in servers]
            for server in running:
                check_answers(server, payloads)
                for body, _ in payloads.values():
                    load(server, body, 8, 2, root)  # warm up
            # Round after round, each cell on each server in turn: a slow spell of the
            # machine falls on all three alike, and each cell's median is reported.
            samples: dict[str, dict[tuple[int, int], list[Cell]]] = {}
            for _ in range(args.rounds):
                for rows, (body, _) in payloads.items():
                    for concurrency in CONCURRENCY:
                        for server in running:
                            cell = load(server, body, concurrency, args.seconds, root)
                            cells = samples.setdefault(server.name, {})
                            cells.setdefault((rows, concurrency), []).append(cell)
        results = {
            name: {key: median_cell(found) for key, found in cells.items()}
            for name, cells in samples.items()
        }
    report(results, args.seconds, args.rounds)


def report(results: dict[str, dict[tuple[int, int], Cell]], seconds: int, rounds: int) -> None:
    orchard, mlflow, minimal = (results[n] for n in results)
    print(
        f"\n{os.cpu_count()} cores; wrk, 1 thread, keep-alive; each cell the median of "
        f"{rounds} runs of {seconds} s, the servers taking turns\n"
    )
    print("| rows | concurrency | server | req/s | p50 ms | p99 ms |")
    print("|---:|---:|---|---:|---:|---:|")
    for (rows, concurrency), _ in orchard.items():
        for name, cells in results.items():
            cell = cells[(rows, concurrency)]
            print(f"| {rows} | {concurrency} | {name} | {cell.requests_per_s:.0f} | "
                  f"{cell.p50_ms:.2f} | {cell.p99_ms:.2f} |")  # fmt: skip
    print("\n| rows | concurrency | Orchard / MLflow req/s | Orchard / minimal p50 |")
    print("|---:|---:|---:|---:|")
    for key, cell in orchard.items():
        throughput = cell.requests_per_s / mlflow[key].requests_per_s
        latency = cell.p50_ms / minimal[key].p50_ms
        print(f"| {key[0]} | {key[1]} | {throughput:.2f}x | {latency:.2f}x |")


if __name__ == "__main__":
    main()
