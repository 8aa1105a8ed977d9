"""`ml_client.jobs`: submit, follow, cancel and download command and sweep jobs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from orchard.entities.comparison import JobComparison
from orchard.entities.job_types import Job
from orchard.entities.jobs import STRICT_ENVIRONMENTS
from orchard.entities.pipeline_graph import PipelineGraph
from orchard.entities.tracking import Metric, RunData
from orchard.errors import NotFound
from orchard.sdk.transport import Transport
from orchard.sdk.uploads import upload_job, uploader
from orchard.services.jobs.states import is_terminal

POLL_SECONDS = 0.1


class JobOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace
        self._upload = uploader(transport, workspace)

    def create_or_update(
        self,
        job: Job,
        *,
        experiment_name: str | None = None,
        strict_environments: bool = False,
        **_: object,
    ) -> Job:
        """Upload the code and local inputs, record the job, start its runner.

        `strict_environments` fails the job rather than move a pinned package that has no
        release for this interpreter (by default the nearest release is used, with a warning).
        """
        workspace = self._workspace()
        prepared = job.model_copy(deep=True)
        if experiment_name:
            prepared.experiment_name = experiment_name
        if strict_environments:
            prepared.properties[STRICT_ENVIRONMENTS] = "true"
        upload_job(self._upload, prepared)
        submitted = self._transport.jobs.submit(workspace, prepared)
        assert submitted.name is not None
        self._transport.launch(workspace, submitted.name)
        return submitted

    def get(self, name: str) -> Job:
        self._transport.reap(self._workspace(), [name])
        return self._transport.jobs.get(self._workspace(), name)

    def list(
        self,
        *,
        experiment_name: str | None = None,
        parent_job_name: str | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        max_results: int | None = None,
    ) -> list[Job]:
        """Jobs of one experiment (or of every experiment), newest first.

        `filter` and `order_by` use MLflow's search syntax, e.g.
        `filter="metrics.accuracy > 0.9 and params.lr = '0.01'"`,
        `order_by=["metrics.accuracy DESC"]`; the store does the filtering.
        """
        keys = [order_by] if isinstance(order_by, str) else list(order_by or [])

        def fetch() -> list[Job]:
            return self._transport.jobs.list(
                self._workspace(),
                experiment=experiment_name,
                parent=parent_job_name,
                filter_string=filter,
                order_by=keys,
                max_results=max_results,
            )

        jobs = fetch()
        running = [j.name for j in jobs if j.name and j.status and not is_terminal(j.status)]
        if running:
            self._transport.reap(self._workspace(), running)
            jobs = fetch()
        return jobs

    def graph(self, name: str) -> PipelineGraph:
        """A pipeline's steps (with their status and job) and the data edges between them."""
        self._transport.reap(self._workspace(), [name])
        return self._transport.pipelines.graph(self._workspace(), name)

    def run_data(self, names: Sequence[str]) -> dict[str, RunData]:
        """Each job's latest metrics, params and tags, keyed by job name."""
        return self._transport.jobs.run_data(self._workspace(), list(names))

    def metric_history(self, name: str, key: str) -> Sequence[Metric]:
        """Every value a job logged for one metric, in step order."""
        points, _ = self._transport.runs.metric_history(self._workspace(), name, key)
        return sorted(points, key=lambda point: (point.step or 0, point.timestamp))

    def compare(self, names: Sequence[str]) -> JobComparison:
        """Params and latest metrics of these jobs side by side (`.to_dataframe()` for
        pandas); `NotFound` names any job the workspace does not have."""
        return self._transport.jobs.compare(self._workspace(), list(names))

    def cancel(self, name: str) -> Job:
        """Ask for the cancel: the runner sees it within a second, stops the whole command,
        then marks the job Canceled (`stream` waits for that)."""
        self._transport.jobs.request_cancel(self._workspace(), name)
        return self.get(name)

    def begin_cancel(self, name: str) -> Job:
        return self.cancel(name)

    def stream(self, name: str, *, out: TextIO | None = None) -> Job:
        """Print the job's std_log as it grows, until the job ends."""
        sink = out or sys.stdout
        log = self._transport.log_path(self._workspace(), name)
        position = 0
        while True:
            job = self.get(name)
            position = _print_new(log, position, sink)
            if job.status and is_terminal(job.status):
                _print_new(log, position, sink)
                return job
            time.sleep(POLL_SECONDS)

    def download(
        self,
        name: str,
        download_path: str | Path = ".",
        *,
        output_name: str | None = None,
        all: bool = False,
    ) -> Path:
        """Artifacts (outputs, logs, std_log) to `<path>/artifacts`, named outputs to
        `<path>/named-outputs/<name>`, laid out as Azure ML lays them out."""
        workspace = self._workspace()
        target = Path(download_path)
        resolved = self._transport.jobs.resolved(workspace, name)
        outputs = resolved.get("outputs", {})
        if output_name is None or all:
            uri = _artifact_uri(resolved["artifact_uri"])
            self._transport.files.download(workspace, uri, target)
        wanted = list(outputs) if all else [output_name] if output_name else []
        for output in wanted:
            if output not in outputs:
                raise NotFound(f"job {name} has no output named {output!r}")
            destination = target / "named-outputs"
            destination.mkdir(parents=True, exist_ok=True)
            self._transport.files.download(workspace, outputs[output]["uri"], destination)
        return target


def _artifact_uri(artifact_uri: str) -> str:
    """The job's artifact folder as a datastore URI the file service can read."""
    relative = artifact_uri.removeprefix("mlflow-artifacts:").lstrip("/")
    return f"azureml://datastores/workspaceartifactstore/paths/{relative}"


def _print_new(log: Path, position: int, sink: TextIO) -> int:
    if not log.exists():
        return position
    with log.open("rb") as handle:
        handle.seek(position)
        chunk = handle.read()
    if chunk:
        sink.write(chunk.decode("utf-8", errors="replace"))
        sink.flush()
    return position + len(chunk)
