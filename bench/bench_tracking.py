"""The stock mlflow client logging to `orchard server` and to `mlflow server`, side by side.

Both servers run as subprocesses on free loopback ports, each over a fresh SQLite store in
its own temporary folder; `mlflow server` with its defaults (uvicorn, 4 workers). The same
client, the mlflow package of the interpreter running this script, does the same work
against each, in turn:

- start to ready: from starting the process to the first `GET /health` that answers OK;
- `log_batch` throughput: batches of 1,000 points of one metric into one run;
- `get_metric_history` of that metric (100,000 points at full size; the client pages);
- `log_metric` latency, one call after another, p50 and p99;
- `search_runs` over 10,000 runs (made with `create_run` + `log_batch`, 8 threads): a
  metric filter, ordered by that metric, the client's default page of 1,000 runs;
- resident memory (VmRSS, the server process and all its children) at rest, after start
  and again after the work.

"client alone" repeats the timed calls against a server in this process that answers each
at once with the bytes Orchard answered: the client's own share, below which no server
can go. Before the table is printed the script checks that both servers returned every
point and the same runs in the same order.

The full `mlflow` package (the server) is not an Orchard dependency: install it into a
separate virtual environment and pass its executable, e.g.

    python -m venv /tmp/mlflow-bench-venv && /tmp/mlflow-bench-venv/bin/pip install mlflow
    .venv/bin/python bench/bench_tracking.py --mlflow /tmp/mlflow-bench-venv/bin/mlflow

`--quick` scales every size down for a check that takes a minute or two.
"""

from __future__ import annotations

import argparse
import os

# Before mlflow is imported: no telemetry from the client.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mlflow
import uvicorn
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

DEFAULT_MLFLOW_VENV = Path("/tmp/mlflow-bench-venv/bin/mlflow")
READY_TIMEOUT_SECONDS = 120.0
SETTLE_SECONDS = 2.0  # let a server's workers finish starting before memory is read
SEARCH_FILTER = "metrics.acc > 0.5"
SEARCH_ORDER = ["metrics.acc DESC"]
SEARCH_PAGE = 1000
SETUP_THREADS = 8


@dataclass(frozen=True)
class Sizes:
    batches: int  # of BATCH points each, into one metric of one run
    single_calls: int
    runs: int
    repeat: int
    batch: int = 1000


FULL = Sizes(batches=100, single_calls=500, runs=10_000, repeat=5)
QUICK = Sizes(batches=5, single_calls=100, runs=500, repeat=3)


@dataclass
class Server:
    """A tracking server as a subprocess on a free loopback port, in its own folder."""

    name: str
    folder: Path
    command: Callable[[Path, int], list[str]]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Start the server; returns seconds from starting the process to /health OK."""
        self.port = free_port()
        log = (self.folder / "server.log").open("wb")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command(self.folder, self.port),
            cwd=self.folder,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        pause = threading.Event()
        with httpx.Client(timeout=1.0) as http:
            while time.perf_counter() - started < READY_TIMEOUT_SECONDS:
                if self.process.poll() is not None:
                    raise SystemExit(f"{self.name} exited while starting:\n{self.log_tail()}")
                try:
                    if http.get(f"{self.url}/health").text.strip() == "OK":
                        return time.perf_counter() - started
                except httpx.TransportError:
                    pass
                pause.wait(0.005)  # pacing between polls
        raise SystemExit(f"{self.name} did not answer /health in time:\n{self.log_tail()}")

    def rss_mib(self) -> float:
        """Resident memory of the server and every process below it, in MiB."""
        assert self.process is not None
        return sum(_rss_kib(pid) for pid in _tree(self.process.pid)) / 1024

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def log_tail(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def orchard_server(folder: Path) -> Server:
    orchard = Path(sys.executable).with_name("orchard")
    base = [str(orchard)] if orchard.exists() else [sys.executable, "-m", "orchard.cli.main"]

    def command(folder: Path, port: int) -> list[str]:
        return [
            *base, "server", "--host", "127.0.0.1", "--port", str(port),
            "--workspace", "bench", "--artifact-root", str(folder / "files"),
            "--database-url", f"sqlite:///{folder / 'orchard.db'}",
        ]  # fmt: skip

    return Server("orchard server", folder, command, {"ORCHARD_HOME": str(folder / ".orchard")})


def mlflow_server(folder: Path, executable: str) -> Server:
    def command(folder: Path, port: int) -> list[str]:
        return [
            executable, "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "mlartifacts"),
        ]  # fmt: skip

    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    return Server("mlflow server", folder, command, env)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def history(client: MlflowClient, run_id: str) -> int:
    return len(client.get_metric_history(run_id, "loss"))


def latencies(client: MlflowClient, run_id: str, calls: int) -> list[float]:
    client.log_metric(run_id, "acc", 0.0, step=0)  # the first call opens the connection
    seconds = []
    for step in range(1, calls + 1):
        started = time.perf_counter()
        client.log_metric(run_id, "acc", step / 1000, step=step)
        seconds.append(time.perf_counter() - started)
    return seconds


def search(client: MlflowClient, experiment: str) -> list[str]:
    runs = client.search_runs(
        [experiment], SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=SEARCH_PAGE
    )
    return [str(run.info.run_name) for run in runs]


def log_batches(client: MlflowClient, run_id: str, sizes: Sizes, now: int) -> float:
    """Points per second, logging the history of `loss` in batches."""
    started = time.perf_counter()
    for batch in range(sizes.batches):
        first = batch * sizes.batch
        points = [
            Metric("loss", 1.0 / (s + 1), now + s, s) for s in range(first, first + sizes.batch)
        ]
        client.log_batch(run_id, metrics=points)
    return sizes.batches * sizes.batch / (time.perf_counter() - started)


def workload(server: Server, sizes: Sizes) -> dict[str, Any]:
    """The same client calls against one server; returns what was measured."""
    client = MlflowClient(tracking_uri=server.url)
    found: dict[str, Any] = {}
    experiment = client.create_experiment("bench")
    now = int(time.time() * 1000)

    run_id = found["run_id"] = client.create_run(experiment).info.run_id
    total = sizes.batches * sizes.batch
    found["log_batch"] = log_batches(client, run_id, sizes, now)

    histories = [timed(lambda: history(client, run_id)) for _ in range(sizes.repeat)]
    lengths = {length for _, length in histories}
    assert lengths == {total}, f"{server.name} returned {lengths} points, not {total}"
    found["history"] = statistics.median(seconds for seconds, _ in histories)

    single = client.create_run(experiment).info.run_id
    measured = latencies(client, single, sizes.single_calls)
    found["p50"], found["p99"] = percentile(measured, 0.5), percentile(measured, 0.99)

    searched = found["search_experiment"] = client.create_experiment("bench-search")

    def make(index: int) -> None:
        made = client.create_run(searched, run_name=f"r{index}").info.run_id
        accuracy = (index * 7919 % sizes.runs) / sizes.runs
        client.log_batch(
            made,
            metrics=[Metric("acc", accuracy, now, 0), Metric("loss", 1 - accuracy, now, 0)],
            params=[Param("lr", str(index % 10)), Param("depth", str(index % 7))],
            tags=[RunTag("group", f"g{index % 5}")],
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        list(pool.map(make, range(sizes.runs)))
    found["setup"] = time.perf_counter() - started

    searches = [timed(lambda: search(client, searched)) for _ in range(sizes.repeat)]
    found["search"] = statistics.median(seconds for seconds, _ in searches)
    found["search_names"] = searches[0][1]
    return found


def client_alone(server: Server, measured: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """The stock client's own share of the same calls: they are made again against a
    server in this process that answers each at once with the bytes `server` answered."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    api = f"{server.url}/api/2.0/mlflow"
    pages: dict[str, bytes] = {}
    with httpx.Client(timeout=600) as http:
        token = ""
        while True:  # the history in the pages the client asks for
            query = {"run_id": measured["run_id"], "metric_key": "loss", "max_results": 25000}
            reply = http.get(f"{api}/metrics/get-history", params={**query, "page_token": token})
            pages[token] = reply.content
            token = reply.json().get("next_page_token", "")
            if not token:
                break
        found_runs = http.post(
            f"{api}/runs/search",
            json={
                "experiment_ids": [measured["search_experiment"]],
                "filter": SEARCH_FILTER,
                "order_by": SEARCH_ORDER,
                "max_results": SEARCH_PAGE,
            },
        ).content

    def answer(body: bytes) -> Response:
        return Response(body, media_type="application/json")

    async def history_page(request: Request) -> Response:
        return answer(pages[request.query_params.get("page_token", "")])

    async def runs(request: Request) -> Response:
        return answer(found_runs)

    async def logged(request: Request) -> Response:
        return answer(b"{}")

    canned = Starlette(
        routes=[
            Route("/api/2.0/mlflow/metrics/get-history", history_page),
            Route("/api/2.0/mlflow/runs/search", runs, methods=["POST"]),
            Route("/api/2.0/mlflow/runs/log-metric", logged, methods=["POST"]),
            Route("/api/2.0/mlflow/runs/log-batch", logged, methods=["POST"]),
        ]
    )
    config = uvicorn.Config(canned, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    serving = uvicorn.Server(config)
    thread = threading.Thread(target=serving.run, daemon=True)
    thread.start()
    pause = threading.Event()
    while not serving.started:
        pause.wait(0.01)
    port = serving.servers[0].sockets[0].getsockname()[1]
    client = MlflowClient(tracking_uri=f"http://127.0.0.1:{port}")
    try:
        measured_floor = latencies(client, "run", sizes.single_calls)
        return {
            "log_batch": log_batches(client, "run", sizes, int(time.time() * 1000)),
            "history": statistics.median(
                timed(lambda: history(client, "run"))[0] for _ in range(sizes.repeat)
            ),
            "p50": percentile(measured_floor, 0.5),
            "p99": percentile(measured_floor, 0.99),
            "search": statistics.median(
                timed(lambda: search(client, "0"))[0] for _ in range(sizes.repeat)
            ),
        }
    finally:
        serving.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow", help="the `mlflow` executable whose server to compare")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick check")
    args = parser.parse_args()
    executable = args.mlflow or shutil.which("mlflow") or str(DEFAULT_MLFLOW_VENV)
    if not Path(executable).exists():
        raise SystemExit(f"no mlflow executable at {executable}: see --help for how to get one")
    sizes = QUICK if args.quick else FULL
    load = os.getloadavg()[0]

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as scratch:
        for name in ("orchard", "mlflow"):
            folder = Path(scratch) / name
            folder.mkdir()
            server = (
                orchard_server(folder) if name == "orchard" else mlflow_server(folder, executable)
            )
            try:
                found = {"start": server.start()}
                time.sleep(SETTLE_SECONDS)
                found["rss"] = server.rss_mib()
                found.update(workload(server, sizes))
                time.sleep(SETTLE_SECONDS)
                found["rss_after"] = server.rss_mib()
                if name == "orchard":
                    results["client alone"] = client_alone(server, found, sizes)
                results[name] = found
            finally:
                server.stop()
    ours, theirs = results["orchard"], results["mlflow"]
    assert ours["search_names"] == theirs["search_names"], "the servers found different runs"
    print_table(results, sizes, executable, load)


@dataclass(frozen=True)
class Row:
    label: str
    key: str
    unit: str  # format of one value
    higher_is_better: bool = False
    target: str = ""  # "< 1 s" (Orchard's own value), ">= 5x" (Orchard's advantage)
    scale: float = 1.0


def print_table(
    results: dict[str, dict[str, Any]], sizes: Sizes, executable: str, load: float
) -> None:
    total = sizes.batches * sizes.batch
    rows = [
        Row("start to ready, fresh store (s)", "start", "{:.2f}", target="< 1 s"),
        Row("RSS at rest after start (MiB)", "rss", "{:.0f}", target=">= 10x less"),
        Row(f"log_batch, {sizes.batch:,} points a batch (points/s)", "log_batch", "{:,.0f}",
            higher_is_better=True, target=">= 5x"),
        Row(f"log_metric p50, {sizes.single_calls} calls (ms)", "p50", "{:.2f}",
            target="< 5 ms", scale=1000),
        Row(f"log_metric p99, {sizes.single_calls} calls (ms)", "p99", "{:.2f}", scale=1000),
        Row(f"get_metric_history, {total:,} points (s)", "history", "{:.3f}", target=">= 10x"),
        Row(f"create {sizes.runs:,} runs, {SETUP_THREADS} threads (s)", "setup", "{:.1f}"),
        Row(f"search_runs, {sizes.runs:,} runs, filter + order_by, page of {SEARCH_PAGE:,} (s)",
            "search", "{:.3f}", target=">= 10x"),
        Row("RSS at rest after the work (MiB)", "rss_after", "{:.0f}"),
    ]  # fmt: skip
    floor = results["client alone"]
    print(
        f"Tracking servers, stock mlflow {mlflow.__version__} client on Python "
        f"{platform.python_version()}; sizes: {'--quick' if sizes is QUICK else 'full'}; "
        f"history and search: medians of {sizes.repeat}"
    )
    print(f"mlflow server: {executable} (SQLite, default workers); orchard server: SQLite")
    print(f"nproc {os.cpu_count()}, load average {load:.2f} at the start")
    print()
    print("| measure | orchard | mlflow | orchard advantage | target | met | client alone |")
    print("|---|---:|---:|---:|---|---|---:|")
    for row in rows:
        ours, theirs = (results[side][row.key] * row.scale for side in ("orchard", "mlflow"))
        advantage = ours / theirs if row.higher_is_better else theirs / ours
        alone = row.unit.format(floor[row.key] * row.scale) if row.key in floor else ""
        print(
            f"| {row.label} | {row.unit.format(ours)} | {row.unit.format(theirs)} "
            f"| {advantage:.1f}x | {row.target} | {_met(row.target, ours, advantage)} | {alone} |"
        )
    print()
    print(
        "client alone: the same client calls against a server in the client's process that "
        "answers each at once with the bytes orchard answered: the client's own share, which "
        "no server can go below."
    )


def _met(target: str, value: float, advantage: float) -> str:
    if not target:
        return ""
    if target.startswith("<"):
        return "yes" if value < float(target.split()[1]) else "no"
    return "yes" if advantage >= float(target.split()[1].rstrip("x")) else "no"


if __name__ == "__main__":
    main()
