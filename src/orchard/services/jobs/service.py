"""Command and sweep jobs: submit (checked before anything starts), read, list, move through states.

A job is stored as a run (the `jobs` table), so everything MLflow logs into it and
everything the runner records land in one place.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from orchard.entities.base import CreationContext
from orchard.entities.comparison import JobComparison
from orchard.entities.job_types import Job, job_of
from orchard.entities.jobs import CommandJob, JobStatus
from orchard.entities.pipelines import PipelineJob
from orchard.entities.sweep import SweepJob
from orchard.entities.tracking import RunData, Tag
from orchard.errors import NotFound, ValidationError
from orchard.services.context import Context
from orchard.services.jobs.resolve import Resolver
from orchard.services.jobs.states import EDGES, check_transition, is_terminal
from orchard.services.pipelines.plan import Planner
from orchard.services.pipelines.steps import probe_spec
from orchard.services.tracking import ExperimentService, RunService
from orchard.services.tracking.names import random_name
from orchard.services.tracking.runs import MAX_SEARCH_RESULTS
from orchard.services.tracking.search_syntax import parse_filter, parse_order_by
from orchard.services.tracking.status import azure_status_clause
from orchard.store.run_query import RunSearch
from orchard.store.tables import utcnow
from orchard.store.tracking_tables import JobRow
from orchard.sweep.sampling import check_space

JOB_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,254}$"


class JobService:
    def __init__(
        self,
        context: Context,
        experiments: ExperimentService,
        runs: RunService,
        resolver: Resolver,
        planner: Planner,
    ) -> None:
        self.context = context
        self.experiments = experiments
        self.runs = runs
        self.resolver = resolver
        self.planner = planner

    def submit(self, workspace: str, job: Job) -> Job:
        """Record a job as Queued once everything it names has been found."""
        name = job.name or random_name()
        if not re.match(JOB_NAME_PATTERN, name):
            raise ValidationError(f"invalid job name {name!r}: letters, digits, '-' and '_'")
        resolved = self._resolve(workspace, name, job)
        experiment = self.experiments.get_or_create(workspace, job.experiment_name or "Default")
        spec = job.model_dump(mode="json", exclude_none=True, by_alias=True)
        spec.update(name=name, experiment_name=experiment.name)
        spec.pop("status", None)
        with self.context.store.begin() as tx:
            if tx.jobs.find(name) is not None:
                raise ValidationError(f"a job named {name!r} already exists")
        self.runs.create(
            workspace,
            experiment.experiment_id,
            name=name,
            run_name=job.display_name or name,
            job_type=job.type,
            status=JobStatus.QUEUED,
            spec={"job": spec, "resolved": resolved},
            parent=job.parent_job_name,
            tags=[Tag(key=k, value=v) for k, v in job.tags.items()],
        )
        return self.get(workspace, name)

    def check(self, workspace: str, job: Job) -> None:
        """Refuse, as submit would, a job naming what the workspace does not have; record
        nothing (a schedule checks its job this way when it is created)."""
        self._resolve(workspace, job.name or "check", job)

    def _resolve(self, workspace: str, name: str, job: Job) -> dict[str, Any]:
        if isinstance(job, SweepJob):
            return self._resolve_sweep(workspace, name, job)
        if isinstance(job, PipelineJob):
            return self._resolve_pipeline(workspace, name, job)
        return self._resolve_command(workspace, name, job)

    def _resolve_command(self, workspace: str, name: str, job: CommandJob) -> dict[str, Any]:
        if not job.command.strip():
            raise ValidationError("job command is empty")
        self.resolver.check_command(job)
        return {
            "compute": self.resolver.compute_name(workspace, job.compute),
            "environment": self.resolver.environment(workspace, job),
            "inputs": self.resolver.inputs(workspace, job),
            "outputs": self.resolver.outputs(name, job.outputs),
        }

    def _resolve_sweep(self, workspace: str, name: str, job: SweepJob) -> dict[str, Any]:
        """A sweep is checked as its first trial would be, with every hyperparameter bound,
        so a wrong input, environment or compute fails now rather than in each trial."""
        check_space(job.sampling_algorithm, job.search_space)
        probe = job.model_copy(update={"name": name}).trial_job(
            0, dict.fromkeys(job.search_space, 1)
        )
        trial = self._resolve_command(workspace, probe.name or name, probe)
        return {"compute": trial["compute"], "outputs": self.resolver.outputs(name, job.outputs)}

    def _resolve_pipeline(self, workspace: str, name: str, job: PipelineJob) -> dict[str, Any]:
        """A pipeline is checked whole: its graph, then each step's job as it would be
        submitted (an upstream output stands in for what it will be), nested ones included."""
        outputs = self.resolver.outputs(name, job.outputs)
        steps = self.planner.plan(workspace, name, job, outputs)
        for step, plan in steps.items():
            probe = job_of(probe_spec(name, step, plan))
            assert probe.name is not None
            self._resolve(workspace, probe.name, probe)
        compute = job.settings.default_compute or job.compute
        return {
            "compute": self.resolver.compute_name(workspace, compute),
            "inputs": self.resolver.inputs(workspace, job),
            "outputs": outputs,
            "steps": steps,
        }

    def get(self, workspace: str, name: str) -> Job:
        with self.context.store.read() as tx:
            row = self.runs.row(tx, workspace, name)
            return _job(row)

    def resolved(self, workspace: str, name: str) -> dict[str, Any]:
        with self.context.store.read() as tx:
            row = self.runs.row(tx, workspace, name)
            resolved: dict[str, Any] = dict(row.spec.get("resolved", {}))
            resolved["artifact_uri"] = row.artifact_uri
            return resolved

    def list(
        self,
        workspace: str,
        *,
        experiment: str | None = None,
        parent: str | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int | None = None,
    ) -> list[Job]:
        """Jobs of one experiment (or all), newest first unless `order_by` says otherwise.

        `filter_string` and `order_by` use MLflow's search syntax (`metrics.acc > 0.9`,
        `params.lr = '0.01'`, `attributes.status = 'Completed'`); both become one SQL query.
        """
        if max_results is not None and not 1 <= max_results <= MAX_SEARCH_RESULTS:
            raise ValidationError(
                f"max_results must be between 1 and {MAX_SEARCH_RESULTS}, got {max_results}"
            )
        clauses = [azure_status_clause(c) for c in parse_filter(filter_string)]
        order = parse_order_by(list(order_by or []))
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            if experiment is not None:
                found = tx.experiments.row_by_name(workspace_id, experiment)
                if found is None:
                    raise NotFound(f"experiment {experiment!r} not found")
                experiment_ids = [found.id]
            else:
                experiment_ids = tx.experiments.ids(workspace_id)
            parent_id = self.runs.row(tx, workspace, parent).id if parent is not None else None
            search = RunSearch(
                experiment_ids=experiment_ids,
                clauses=clauses,
                order_by=order,
                stages=("active", "deleted"),
                limit=max_results or MAX_SEARCH_RESULTS,
            )
            rows = tx.jobs.search(search, exclude_types=("mlflow",), parent_id=parent_id)
            return [_job(row) for row in rows]

    def run_data(self, workspace: str, names: Sequence[str]) -> dict[str, RunData]:
        """Latest metrics, params and tags of each named job (or run), in one read."""
        wanted = list(dict.fromkeys(names))
        with self.context.store.read() as tx:
            rows = {row.name: row for row in tx.jobs.named(tx.workspaces.id_of(workspace), wanted)}
            missing = [name for name in wanted if name not in rows]
            if missing:
                listed = ", ".join(repr(name) for name in missing)
                raise NotFound(f"job{'s' if len(missing) > 1 else ''} not found: {listed}")
            ids = [rows[name].id for name in wanted]
            metrics, params, tags = (
                tx.jobs.latest_metrics(ids),
                tx.jobs.params_of(ids),
                tx.jobs.tags_of(ids),
            )
        return {
            name: RunData(metrics=metrics[row.id], params=params[row.id], tags=tags[row.id])
            for name, row in ((name, rows[name]) for name in wanted)
        }

    def compare(self, workspace: str, names: Sequence[str]) -> JobComparison:
        """Params and latest metrics of these jobs side by side."""
        if not names:
            raise ValidationError("compare needs at least one job name")
        data = self.run_data(workspace, names)  # names the first job not found
        inputs = {name: self.get(workspace, name).input_values() for name in names}
        return JobComparison.of(data, inputs)

    def set_status(
        self,
        workspace: str,
        name: str,
        status: str,
        *,
        error: dict[str, Any] | None = None,
        exit_code: int | None = None,
        agent_id: str | None = None,
    ) -> str:
        """Move a job along one edge of the state machine; returns the status it has."""
        with self.context.store.begin() as tx:
            row = self.runs.row(tx, workspace, name, lock=True)
            if is_terminal(row.status) or (
                row.status == JobStatus.CANCEL_REQUESTED and status not in EDGES[row.status]
            ):
                return row.status  # a cancel won the race; keep it
            check_transition(name, row.status, status)
            row.status = status
            now = int(time.time() * 1000)
            if status == JobStatus.RUNNING and row.start_time is None:
                row.start_time = now
            if is_terminal(status):
                row.end_time = now
            if error is not None:
                row.error = error
            if exit_code is not None:
                row.exit_code = exit_code
            if agent_id is not None:
                row.agent_id = agent_id
            tx.jobs.touch(row)
            return status

    def set_properties(self, workspace: str, name: str, properties: dict[str, str]) -> None:
        """Merge into the job's `properties` (a sweep's progress and best trial)."""
        with self.context.store.begin() as tx:
            row = self.runs.row(tx, workspace, name, lock=True)
            job = dict(row.spec.get("job", {}))
            job["properties"] = {**job.get("properties", {}), **properties}
            row.spec = {**row.spec, "job": job}  # a new dict: the JSON column sees the change
            tx.jobs.touch(row)

    def set_resolved_outputs(
        self, workspace: str, name: str, outputs: dict[str, dict[str, Any]]
    ) -> None:
        """Where a pipeline's outputs ended up: the URIs its steps wrote (or reused)."""
        with self.context.store.begin() as tx:
            row = self.runs.row(tx, workspace, name, lock=True)
            resolved = {**row.spec.get("resolved", {}), "outputs": outputs}
            row.spec = {**row.spec, "resolved": resolved}
            tx.jobs.touch(row)

    def request_cancel(self, workspace: str, name: str) -> str:
        """Cancel a job: at once if no runner holds it, else ask its runner to stop it."""
        with self.context.store.begin() as tx:
            row = self.runs.row(tx, workspace, name, lock=True)
            if is_terminal(row.status) or row.status == JobStatus.CANCEL_REQUESTED:
                return row.status
            row.status = JobStatus.CANCEL_REQUESTED if row.agent_id else JobStatus.CANCELED
            if row.status == JobStatus.CANCELED:
                row.end_time = int(time.time() * 1000)
            tx.jobs.touch(row)
            return row.status

    def heartbeat(self, workspace: str, name: str) -> str:
        with self.context.store.begin() as tx:
            row = self.runs.row(tx, workspace, name)
            row.heartbeat_at = utcnow()
            return row.status

    def agent_of(self, workspace: str, name: str) -> str | None:
        with self.context.store.read() as tx:
            return self.runs.row(tx, workspace, name).agent_id


def _job(row: JobRow) -> Job:
    job = job_of({"type": row.job_type, **row.spec.get("job", {})})
    job.status = row.status
    job.name = row.name
    job.display_name = row.display_name
    job.id = f"/jobs/{row.name}"
    job.creation_context = CreationContext(
        created_at=row.created_at, created_by=row.user_id, last_modified_at=row.updated_at
    )
    job.start_time, job.end_time = row.start_time, row.end_time
    job.error, job.exit_code = row.error, row.exit_code
    return job
