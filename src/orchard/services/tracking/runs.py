"""Runs: jobs as MLflow sees them. Create, update, search, log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from orchard.entities.jobs import SCRIPT_FAILED_TAG, JobStatus
from orchard.entities.tracking import (
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    Tag,
)
from orchard.errors import NotFound, ValidationError
from orchard.services.context import Context
from orchard.services.tracking.experiments import ExperimentService
from orchard.services.tracking.limits import check_batch
from orchard.services.tracking.names import random_name
from orchard.services.tracking.paging import decode_token, encode_token
from orchard.services.tracking.search_syntax import parse_filter, parse_order_by
from orchard.services.tracking.status import (
    AZURE_FOR_MLFLOW,
    azure_status_clause,
    mlflow_status,
)
from orchard.store import Transaction
from orchard.store.jobs import RunFields
from orchard.store.run_query import RunSearch
from orchard.store.tracking_tables import JobRow

RUN_NAME_TAG = "mlflow.runName"
MAX_SEARCH_RESULTS = 50_000


def now_millis() -> int:
    return int(time.time() * 1000)


class RunService:
    def __init__(self, context: Context, experiments: ExperimentService) -> None:
        self.context = context
        self.experiments = experiments

    def create(
        self,
        workspace: str,
        experiment_id: str,
        *,
        run_name: str | None = None,
        user_id: str | None = None,
        start_time: int | None = None,
        tags: Sequence[Tag] = (),
        name: str | None = None,
        job_type: str = "mlflow",
        status: str = JobStatus.RUNNING,
        spec: dict[str, Any] | None = None,
        parent: str | None = None,
    ) -> Run:
        tag_map = {t.key: t.value for t in tags}
        run_name = run_name or tag_map.get(RUN_NAME_TAG) or random_name()
        tag_map[RUN_NAME_TAG] = run_name
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            experiment = self.experiments.active_row(tx, workspace_id, experiment_id)
            run_id = name or uuid.uuid4().hex
            parent_row = tx.jobs.row(parent) if parent else None
            row = tx.jobs.add(
                JobRow(
                    workspace_id=workspace_id,
                    experiment_id=experiment.id,
                    parent_id=parent_row.id if parent_row else None,
                    name=run_id,
                    display_name=run_name,
                    job_type=job_type,
                    status=status,
                    lifecycle_stage="active",
                    user_id=user_id or self.context.user,
                    start_time=start_time or now_millis(),
                    artifact_uri=f"{experiment.artifact_location}/{run_id}/artifacts",
                    spec=spec or {},
                )
            )
            run_tags = [Tag(key=k, value=v) for k, v in sorted(tag_map.items())]
            tx.jobs.set_tags(row.id, run_tags)
            # A new run has logged nothing yet: no need to read it back.
            info = self._info(tx, row, experiment.number)
            return Run(info=info, data=RunData(tags=run_tags))

    def get(self, workspace: str, run_id: str) -> Run:
        with self.context.store.read() as tx:
            return self._run(tx, self.row(tx, workspace, run_id))

    def tags(self, workspace: str, run_id: str) -> dict[str, str]:
        """The run's tags alone: cheaper than `get` where nothing else is wanted."""
        with self.context.store.read() as tx:
            return {t.key: t.value for t in tx.jobs.tags(self.row(tx, workspace, run_id).id)}

    def row(self, tx: Transaction, workspace: str, run_id: str, *, lock: bool = False) -> JobRow:
        row = tx.jobs.row(run_id, lock=lock)
        if row.workspace_id != tx.workspaces.id_of(workspace):
            raise NotFound(f"Run with id={run_id} not found")
        return row

    def update(
        self,
        workspace: str,
        run_id: str,
        *,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        with self.context.store.begin() as tx:
            row = self.row(tx, workspace, run_id, lock=True)
            # A submitted job's state belongs to its runner: a script's mlflow.end_run()
            # must not mark the job finished while the runner is still collecting outputs.
            client_owned = row.job_type == "mlflow"
            if status is not None and client_owned:
                row.status = AZURE_FOR_MLFLOW.get(status, status)
            if end_time is not None and client_owned:
                row.end_time = end_time
            if status == "FAILED" and not client_owned:
                tx.jobs.set_tags(row.id, [Tag(key=SCRIPT_FAILED_TAG, value="true")])
            if run_name:
                row.display_name = run_name
                tx.jobs.set_tags(row.id, [Tag(key=RUN_NAME_TAG, value=run_name)])
            tx.jobs.touch(row)
            return self._info(tx, row)

    def set_lifecycle(self, workspace: str, run_id: str, stage: str) -> None:
        with self.context.store.begin() as tx:
            row = self.row(tx, workspace, run_id, lock=True)
            row.lifecycle_stage = stage
            tx.jobs.touch(row)

    def log_batch(
        self,
        workspace: str,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[Tag] = (),
    ) -> None:
        check_batch(metrics, params, tags)
        with self.context.store.begin() as tx:
            run = tx.jobs.run_key(workspace, run_id)
            if run.lifecycle_stage != "active":
                raise ValidationError(
                    f"The run {run_id} must be in the 'active' state. "
                    f"Current state is {run.lifecycle_stage}."
                )
            tx.jobs.log_params(run.id, params)
            tx.jobs.set_tags(run.id, tags)
            tx.jobs.log_metrics(run.id, metrics)
            # MLflow 3 links a metric to a logged model by naming it; the model keeps it too.
            linked = [m.model_copy(update={"run_id": run_id}) for m in metrics if m.model_id]
            if linked:
                tx.logged_models.log_metrics(run.workspace_id, linked)

    def delete_tag(self, workspace: str, run_id: str, key: str) -> None:
        with self.context.store.begin() as tx:
            row = self.row(tx, workspace, run_id)
            if not tx.jobs.delete_tag(row.id, key):
                raise NotFound(f"No tag with name: {key} in run with id {run_id}")

    def log_io(
        self, workspace: str, run_id: str, direction: str, kind: str, bodies: list[dict[str, Any]]
    ) -> None:
        with self.context.store.begin() as tx:
            row = self.row(tx, workspace, run_id)
            tx.jobs.add_io(row.id, direction, kind, bodies)

    def metric_history(
        self,
        workspace: str,
        run_id: str,
        key: str,
        *,
        page_token: str | None = None,
        max_results: int | None = None,
    ) -> tuple[list[Metric], str | None]:
        offset = decode_token(page_token)
        with self.context.store.read() as tx:
            row = self.row(tx, workspace, run_id)
            limit = None if max_results is None else max_results + 1
            points = tx.jobs.metric_history(row.id, key, offset=offset, limit=limit, run_id=run_id)
        if max_results is not None and len(points) > max_results:
            return points[:max_results], encode_token(offset + max_results)
        return points, None

    def search(
        self,
        workspace: str,
        experiment_ids: Sequence[str],
        *,
        filter_string: str | None = None,
        run_view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Run], str | None]:
        if max_results > MAX_SEARCH_RESULTS:
            raise ValidationError(
                f"Invalid value for request parameter max_results. It must be at most "
                f"{MAX_SEARCH_RESULTS}, but got value {max_results}"
            )
        clauses = [azure_status_clause(c) for c in parse_filter(filter_string)]
        order = parse_order_by(order_by)
        offset = decode_token(page_token)
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            ids = [self.experiments.row(tx, workspace_id, e).id for e in experiment_ids]
            search = RunSearch(
                experiment_ids=ids,
                clauses=clauses,
                order_by=order,
                stages=_stages(run_view_type),
                offset=offset,
                limit=max_results + 1,
            )
            rows = tx.jobs.search_runs(search)
            runs = self._runs(tx, rows[:max_results])
        token = encode_token(offset + max_results) if len(rows) > max_results else None
        return runs, token

    # -- assembling entities ------------------------------------------------------------

    def _run(self, tx: Transaction, row: JobRow) -> Run:
        return self._runs(tx, [row])[0]

    def _runs(self, tx: Transaction, rows: Sequence[JobRow | RunFields]) -> list[Run]:
        """Runs with what they logged: a few queries, however many runs."""
        ids = [row.id for row in rows]
        latest, params = tx.jobs.latest_metrics(ids), tx.jobs.params_of(ids)
        tags, io = tx.jobs.tags_of(ids), tx.jobs.io_of(ids)
        numbers = {
            e: self.experiments.number_of(tx, e) for e in {row.experiment_id for row in rows}
        }
        runs = []
        for row in rows:
            inputs, outputs = RunInputs(), RunOutputs()
            for direction, kind, body in io[row.id]:
                if direction == "input":
                    (inputs.dataset_inputs if kind == "dataset" else inputs.model_inputs).append(
                        body
                    )
                else:
                    outputs.model_outputs.append(body)
            data = RunData(metrics=latest[row.id], params=params[row.id], tags=tags[row.id])
            info = self._info(tx, row, numbers[row.experiment_id])
            runs.append(Run(info=info, data=data, inputs=inputs, outputs=outputs))
        return runs

    def _info(self, tx: Transaction, row: JobRow | RunFields, number: int | None = None) -> RunInfo:
        if number is None:
            number = self.experiments.number_of(tx, row.experiment_id)
        return RunInfo(
            run_id=row.name,
            run_uuid=row.name,
            run_name=row.display_name,
            experiment_id=str(number),
            user_id=row.user_id,
            status=mlflow_status(row.status),
            start_time=row.start_time,
            end_time=row.end_time,
            artifact_uri=row.artifact_uri,
            lifecycle_stage="deleted" if row.lifecycle_stage == "deleted" else "active",
        )


def _stages(view: str) -> tuple[str, ...]:
    return {
        "ACTIVE_ONLY": ("active",),
        "DELETED_ONLY": ("deleted",),
        "ALL": ("active", "deleted"),
    }.get(str(view).upper(), ("active",))
