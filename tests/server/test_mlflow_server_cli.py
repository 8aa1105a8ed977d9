"""`orchard server` as a real process: it comes up, answers /health, and serves the
MLflow API over the store it was given."""

from __future__ import annotations

from pathlib import Path

import httpx

from server_process import orchard_server


def test_orchard_server_serves_the_mlflow_api(tmp_path: Path) -> None:
    env = {"ORCHARD_HOME": str(tmp_path / ".orchard")}
    files = tmp_path / "files"
    with orchard_server("--workspace", "team", "--artifact-root", str(files), env=env) as url:
        assert httpx.get(f"{url}/version").text.startswith("3.")
        created = httpx.post(f"{url}/api/2.0/mlflow/experiments/create", json={"name": "cli"})
        assert created.json() == {"experiment_id": "1"}
        listed = httpx.get(f"{url}/workspaces/team/api/2.0/mlflow/experiments/search")
        assert {e["name"] for e in listed.json()["experiments"]} == {"Default", "cli"}
        assert (files / "team" / "artifactstore").is_dir()
