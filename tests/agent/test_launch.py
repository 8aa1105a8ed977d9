"""Starting runners: a runner that dies before it claims its job is noticed, so the job
ends Failed instead of staying Queued for ever."""

from __future__ import annotations

import io

import pytest

from orchard import command
from orchard.sdk.client import MLClient


def test_a_runner_that_dies_at_start_fails_its_job(
    ml_client: MLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh interpreter that cannot start: PYTHONHOME names no Python.
    monkeypatch.setenv("ORCHARD_RUNNER_SPAWN", "1")
    monkeypatch.setenv("PYTHONHOME", "/nonexistent-python-home")
    job = ml_client.jobs.create_or_update(command(command="echo never runs"))
    monkeypatch.delenv("PYTHONHOME")
    assert job.name
    done = ml_client.jobs.stream(job.name, out=io.StringIO())
    assert done.status == "Failed" and done.error
    assert done.error["code"] == "RunnerLost"
    assert "exited before it started the job" in done.error["message"]
