"""`orchard quickstart`: data asset, tracked training job, registered model, an online
endpoint serving it and a request scored through that endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from conftest import Cli


@pytest.fixture(autouse=True)
def _endpoint_removed(cli: Cli) -> Iterator[None]:
    """The quickstart leaves its endpoint serving, as a user would want; tests stop it."""
    yield
    cli("online-endpoint", "delete", "-n", "iris-endpoint", "-w", "quickstart", "--yes")


def test_quickstart_trains_registers_and_scores(cli: Cli) -> None:
    result = cli.ok("quickstart")
    assert "Registered data asset iris:1" in result.stdout
    assert "150 rows" in result.stdout
    assert "training on 105 rows, testing on 45" in result.stdout  # the job's streamed log
    assert "Registered model iris-classifier:1" in result.stdout
    assert "Deployed iris-classifier:1 to online endpoint iris-endpoint" in result.stdout
    assert "Scored a request" in result.stdout

    jobs = json.loads(cli.ok("job", "list", "-w", "quickstart", "-o", "json").stdout)
    assert [(j["experiment_name"], j["status"]) for j in jobs] == [("quickstart", "Completed")]
    model = json.loads(
        cli.ok(
            "model", "show", "-n", "iris-classifier", "-v", "1", "-w", "quickstart", "-o", "json"
        ).stdout
    )
    assert model["job_name"] == jobs[0]["name"]
    predicted = result.stdout.split("Scored a request:", 1)[1]
    assert any(species in predicted for species in ("setosa", "versicolor", "virginica"))


def test_quickstart_runs_again_with_new_versions(cli: Cli) -> None:
    cli.ok("quickstart")
    again = cli.ok("quickstart")
    assert "already exists" in again.stdout
    assert "Registered model iris-classifier:2" in again.stdout
    assert "Deployed iris-classifier:2 to online endpoint iris-endpoint" in again.stdout
