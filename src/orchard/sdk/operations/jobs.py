"""`ml_client.jobs`: submit, follow, cancel and download command jobs."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from orchard.entities.jobs import CommandJob, Input
from orchard.errors import NotFound, ValidationError
from orchard.sdk.transport import Transport
from orchard.services.jobs.states import is_terminal
from orchard.storage.uris import is_local_path

IGNORE_FILES = (".amlignore", ".gitignore")
DEFAULT_MAX_SNAPSHOT_MB = 300
POLL_SECONDS = 0.25


def max_snapshot_bytes() -> int:
    return int(os.environ.get("ORCHARD_MAX_SNAPSHOT_MB", DEFAULT_MAX_SNAPSHOT_MB)) * 1024 * 1024


class JobOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace

    def create_or_update(
        self, job: CommandJob, *, experiment_name: str | None = None, **_: object
    ) -> CommandJob:
        """Upload the code and local inputs, record the job, start its runner."""
        workspace = self._workspace()
        prepared = job.model_copy(deep=True)
        if experiment_name:
            prepared.experiment_name = experiment_name
        if prepared.code and is_local_path(prepared.code):
            prepared.code = self._upload(prepared.code, "code", IGNORE_FILES, max_snapshot_bytes())
        for name, value in prepared.inputs.items():
            if isinstance(value, Input) and value.path and is_local_path(value.path):
                value.path = self._upload(value.path, f"input {name!r}", (), None)
        submitted = self._transport.jobs.submit(workspace, prepared)
        assert submitted.name is not None
        self._transport.launch(workspace, submitted.name)
        return submitted

    def get(self, name: str) -> CommandJob:
        self._transport.reap(self._workspace(), [name])
        return self._transport.jobs.get(self._workspace(), name)

    def list(
        self, *, experiment_name: str | None = None, parent_job_name: str | None = None
    ) -> list[CommandJob]:
        jobs = self._transport.jobs.list(
            self._workspace(), experiment=experiment_name, parent=parent_job_name
        )
        running = [j.name for j in jobs if j.name and j.status and not is_terminal(j.status)]
        if running:
            self._transport.reap(self._workspace(), running)
            jobs = self._transport.jobs.list(
                self._workspace(), experiment=experiment_name, parent=parent_job_name
            )
        return jobs

    def cancel(self, name: str) -> CommandJob:
        """Ask for the cancel: the runner sees it within a second, stops the whole command,
        then marks the job Canceled (`stream` waits for that)."""
        self._transport.jobs.request_cancel(self._workspace(), name)
        return self.get(name)

    def begin_cancel(self, name: str) -> CommandJob:
        return self.cancel(name)

    def stream(self, name: str, *, out: TextIO | None = None) -> CommandJob:
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

    def _upload(self, path: str, what: str, ignore: tuple[str, ...], limit: int | None) -> str:
        source = Path(path).expanduser()
        if not source.exists():
            raise ValidationError(f"job {what}: local path {path} does not exist")
        return self._transport.files.upload(
            self._workspace(), source.resolve(), ignore_file_names=ignore, max_bytes=limit
        )


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
