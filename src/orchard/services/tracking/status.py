"""Azure's job states and MLflow's run states, one mapping both ways."""

from __future__ import annotations

from orchard.entities.jobs import JobStatus
from orchard.store.run_query import Clause

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


def azure_status_clause(clause: Clause) -> Clause:
    """`attributes.status = 'FINISHED'` compares MLflow names; the store keeps Azure's.
    Azure's own names (`'Completed'`) pass through unchanged."""
    if clause.kind != "attribute" or clause.key != "status":
        return clause
    if clause.op in ("=", "!="):
        op = "IN" if clause.op == "=" else "NOT IN"
        return Clause(kind="attribute", key="status", op=op, value=azure_statuses(clause.value))
    if clause.op in ("IN", "NOT IN"):
        values = [s for v in clause.value for s in azure_statuses(v)]
        return Clause(kind="attribute", key="status", op=clause.op, value=values)
    return clause
