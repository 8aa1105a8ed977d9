"""Lineage between model versions, the jobs that made them and the data versions they read.

Everything here is read from what is already recorded: a model version's `job_name`, and
the job's spec and resolved inputs as they were stored at submit (each data input keeps
the `name:version` it resolved to), so lineage never changes after the fact.
"""

from __future__ import annotations

from typing import Any

from orchard.entities.assets import Data, Model
from orchard.entities.lineage import (
    DataConsumer,
    DataUsage,
    JobInputLineage,
    JobLineage,
    ModelLineage,
)
from orchard.services.context import Context
from orchard.store import Transaction
from orchard.store.tracking_tables import ExperimentRow, JobRow


class LineageService:
    def __init__(self, context: Context) -> None:
        self.context = context

    def model(self, workspace: str, name: str, version: str) -> ModelLineage:
        """A model version with the job behind it: code, environment, inputs, params."""
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            model = tx.assets.get(workspace_id, "model", name, version)
            assert isinstance(model, Model)
            row = _job_row(tx, workspace_id, model.job_name)
            job = _job_lineage(tx, row) if row is not None else None
            return ModelLineage(model=model, job=job)

    def data_used_by(self, workspace: str, name: str, version: str) -> DataUsage:
        """The jobs whose inputs resolved to this data version, newest first, each with
        the model versions it produced."""
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            data = tx.assets.get(workspace_id, "data", name, version)
            assert isinstance(data, Data)
            jobs = _consumers(tx, workspace_id, f"{data.name}:{data.version}")
            return DataUsage(data=data, jobs=jobs)


def _consumers(tx: Transaction, workspace_id: int, reference: str) -> list[DataConsumer]:
    readers = [
        (row, inputs)
        for row in tx.jobs.mentioning(workspace_id, f'"{reference}"')
        if (inputs := _inputs_reading(row, reference))
    ]
    models: dict[str, list[str]] = {}
    for model in tx.assets.made_by(workspace_id, [row.name for row, _ in readers]):
        job = getattr(model, "job_name", None) or ""
        models.setdefault(job, []).append(f"{model.name}:{model.version}")
    return [
        DataConsumer(
            name=row.name,
            status=row.status,
            experiment=_experiment_name(tx, row),
            inputs=inputs,
            models=models.get(row.name, []),
        )
        for row, inputs in readers
    ]


def _job_row(tx: Transaction, workspace_id: int, name: str | None) -> JobRow | None:
    row = tx.jobs.find(name) if name else None
    return row if row is not None and row.workspace_id == workspace_id else None


def _job_lineage(tx: Transaction, row: JobRow) -> JobLineage:
    spec: dict[str, Any] = row.spec.get("job", {})
    resolved: dict[str, Any] = row.spec.get("resolved", {})
    return JobLineage(
        name=row.name,
        display_name=row.display_name,
        type=row.job_type,
        status=row.status,
        experiment=_experiment_name(tx, row),
        code=spec.get("code"),
        environment=_environment_reference(resolved.get("environment")),
        inputs={
            input_name: _input_lineage(bound)
            for input_name, bound in resolved.get("inputs", {}).items()
        },
        params={param.key: param.value for param in tx.jobs.params(row.id)},
    )


def _input_lineage(bound: dict[str, Any]) -> JobInputLineage:
    return JobInputLineage(
        type=bound.get("type", ""),
        value=bound.get("value"),
        uri=bound.get("uri"),
        data=bound.get("asset"),
    )


def _environment_reference(environment: dict[str, Any] | None) -> str | None:
    if not environment:
        return None
    name, version = environment.get("name"), environment.get("version")
    return f"{name}:{version}" if version else name


def _inputs_reading(row: JobRow, reference: str) -> list[str]:
    """The names of the job's inputs bound to the data version `reference`."""
    inputs: dict[str, Any] = row.spec.get("resolved", {}).get("inputs", {})
    return [name for name, bound in inputs.items() if bound.get("asset") == reference]


def _experiment_name(tx: Transaction, row: JobRow) -> str | None:
    # The experiment's name now (it may have been renamed), not the one the spec recorded.
    experiment = tx.session.get(ExperimentRow, row.experiment_id)
    return experiment.name if experiment is not None else None
