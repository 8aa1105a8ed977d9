"""Azure's job states and MLflow's run states, one mapping both ways."""

from __future__ import annotations

from orchard.entities.jobs import JobStatus

MLFLOW_FOR_AZURE = {
    JobStatus.NOT_STARTED: "SCHEDULED",
    JobStatus.QUEUED: "SCHEDULED",
    JobStatus.PREPARING: "SCHEDULED",
    JobStatus.RUNNING: "RUNNING",
    JobStatus.FINALIZING: "RUNNING",
    JobStatus.CANCEL_REQUESTED: "RUNNING",
    JobStatus.COMPLETED: "FINISHED",
    JobStatus.FAILED: "FAILED",
    JobStatus.CANCELED: "KILLED",
}
# What an MLflow client's status update means for the job.
AZURE_FOR_MLFLOW = {
    "SCHEDULED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "FINISHED": JobStatus.COMPLETED,
    "FAILED": JobStatus.FAILED,
    "KILLED": JobStatus.CANCELED,
}


def mlflow_status(azure: str) -> str:
    return MLFLOW_FOR_AZURE.get(azure, "RUNNING")


def azure_statuses(mlflow: str) -> list[str]:
    """Every Azure state an MLflow state name covers (SCHEDULED covers three)."""
    wanted = str(mlflow).upper()
    found = [azure for azure, name in MLFLOW_FOR_AZURE.items() if name == wanted]
    return found or [str(mlflow)]
