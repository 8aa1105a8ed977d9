"""Every test here starts outside any job, with no run left over from another test."""

from __future__ import annotations

import pytest

from orchard.run import context

JOB_VARIABLES = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_RUN_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "AZUREML_RUN_ID",
    "AZUREML_EXPERIMENT_NAME",
    "AZUREML_ARM_WORKSPACE_NAME",
    "ORCHARD_JOB_NAME",
)


@pytest.fixture(autouse=True)
def _no_job_around(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees a job's variables it did not set, nor a run an earlier test made."""
    for name in JOB_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(context, "_runs", {})
