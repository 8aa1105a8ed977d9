"""`orchard server` as a real process: it comes up, answers /health, and serves the
MLflow API over the store it was given."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

READY_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_orchard_server_serves_the_mlflow_api(tmp_path: Path) -> None:
    port = _free_port()
    home = tmp_path / ".orchard"
    env = {**os.environ, "ORCHARD_HOME": str(home)}
    command = [
        sys.executable, "-m", "orchard.cli.main", "server",
        "--port", str(port), "--workspace", "team", "--artifact-root", str(tmp_path / "files"),
    ]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        pause = threading.Event()
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            assert time.monotonic() - started < READY_SECONDS, "orchard server did not start"
            try:
                if httpx.get(f"{url}/health", timeout=1).text == "OK":
                    break
            except httpx.TransportError:
                pause.wait(0.02)  # pacing between polls
        assert httpx.get(f"{url}/version").text.startswith("3.")
        created = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "cli"})
        assert created.json() == {"experiment_id": "1"}
        listed = httpx.get(f"{url}/workspaces/team/api/2.0/mlflow/experiments/search")
        assert {e["name"] for e in listed.json()["experiments"]} == {"Default", "cli"}
        assert (tmp_path / "files" / "team" / "artifactstore").is_dir()
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
