"""Every spelling of a path reaches one route: `/ajax-api/` is `/api/`, and
`/workspaces/<name>/...` is the rest of the path, in workspace <name>."""

from __future__ import annotations

import httpx
import pytest

from orchard.server.paths import canonical_path
from orchard.services import Services


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/api/2.0/mlflow/runs/get", (None, "/api/2.0/mlflow/runs/get")),
        ("/ajax-api/2.0/mlflow/runs/get", (None, "/api/2.0/mlflow/runs/get")),
        ("/workspaces/team-a/api/2.0/mlflow/runs/get", ("team-a", "/api/2.0/mlflow/runs/get")),
        ("/workspaces/team-a/ajax-api/3.0/x", ("team-a", "/api/3.0/x")),
        ("/workspaces/team-a/health", ("team-a", "/health")),
        # not a workspace path: no name, or nothing after it
        ("/workspaces//api/2.0/x", (None, "/workspaces//api/2.0/x")),
        ("/workspaces/team-a", (None, "/workspaces/team-a")),
        ("/ajax-apis/x", (None, "/ajax-apis/x")),
    ],
)
def test_canonical_path(given: str, expected: tuple[str | None, str]) -> None:
    assert canonical_path(given) == expected


@pytest.mark.anyio
async def test_each_spelling_works_in_its_workspace(
    api: httpx.AsyncClient, services: Services
) -> None:
    services.workspaces.ensure("team-b")
    services.experiments.create("team-b", "only-in-b")
    found = {}
    for path in (
        "/api/2.0/mlflow/experiments/get-by-name",
        "/ajax-api/2.0/mlflow/experiments/get-by-name",
        "/workspaces/team-b/api/2.0/mlflow/experiments/get-by-name",
        "/workspaces/team-b/ajax-api/2.0/mlflow/experiments/get-by-name",
    ):
        reply = await api.get(path, params={"experiment_name": "only-in-b"})
        found[path] = reply.status_code
    assert list(found.values()) == [404, 404, 200, 200], found
    missing = await api.get("/workspaces/team-b/ajax-api/2.0/mlflow/nothing-here")
    # the error names the path as it was asked for
    assert "/workspaces/team-b/ajax-api/2.0/mlflow/nothing-here" in missing.json()["message"]
