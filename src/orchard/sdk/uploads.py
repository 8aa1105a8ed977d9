"""Uploading what a job or component names on this machine: its code (with a
component's `additional_includes` copied in) and its local data inputs.

The transports take only storage URIs; this is where a local path becomes one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from orchard.entities.components import (
    CommandComponent,
    ComponentBase,
    ParallelComponent,
    PipelineComponent,
)
from orchard.entities.job_types import Job
from orchard.entities.jobs import Input, InputValue
from orchard.entities.parallel import ParallelTask
from orchard.entities.pipelines import CommandStep, ParallelStep, PipelineJob, StepBase
from orchard.entities.sweep import SweepJob
from orchard.errors import ValidationError
from orchard.sdk.transport import Transport
from orchard.storage.uris import is_local_path

IGNORE_FILES = (".amlignore", ".gitignore")
DEFAULT_MAX_SNAPSHOT_MB = 300

# (local path, what it is, ignore-file names, size limit) -> its storage URI
Upload = Callable[[Path, str, tuple[str, ...], int | None], str]


def uploader(transport: Transport, workspace: Callable[[], str]) -> Upload:
    """The Upload that puts files in the workspace's storage through `transport`."""

    def upload(source: Path, what: str, ignore: tuple[str, ...], limit: int | None) -> str:
        return transport.files.upload(
            workspace(), source, ignore_file_names=ignore, max_bytes=limit
        )

    return upload


def max_snapshot_bytes() -> int:
    return int(os.environ.get("ORCHARD_MAX_SNAPSHOT_MB", DEFAULT_MAX_SNAPSHOT_MB)) * 1024 * 1024


def local(path: str | None) -> bool:
    return bool(path) and is_local_path(str(path)) and not str(path).startswith("${{")


def upload_code(upload: Upload, code: str, what: str, includes: list[str] | None = None) -> str:
    """The code folder's snapshot URI; with `additional_includes`, a snapshot of the
    folder with each include copied in beside the code, as Azure builds it."""
    source = _existing(code, what)
    if not includes:
        return upload(source, what, IGNORE_FILES, max_snapshot_bytes())
    with tempfile.TemporaryDirectory(prefix="orchard-snapshot-") as scratch:
        merged = Path(scratch) / source.name
        if source.is_dir():
            shutil.copytree(source, merged)
        else:
            merged.mkdir()
            shutil.copy2(source, merged / source.name)
        for include in includes:
            extra = _existing(include, f"{what} additional_includes entry")
            target = merged / extra.name
            if target.exists():
                raise ValidationError(
                    f"{what}: additional_includes entry {include!r} would overwrite "
                    f"{extra.name!r} in the code folder"
                )
            if extra.is_dir():
                shutil.copytree(extra, target)
            else:
                shutil.copy2(extra, target)
        return upload(merged, what, IGNORE_FILES, max_snapshot_bytes())


def upload_inputs(upload: Upload, inputs: dict[str, InputValue], what: str) -> None:
    for name, value in inputs.items():
        if isinstance(value, Input) and local(value.path):
            assert value.path is not None
            value.path = upload(_existing(value.path, f"{what} input {name!r}"), what, (), None)


def upload_component(upload: Upload, component: ComponentBase, what: str) -> None:
    """Upload a component's local code (and, for a pipeline component, its steps')."""
    if isinstance(component, CommandComponent) and local(component.code):
        assert component.code is not None
        component.code = upload_code(
            upload, component.code, f"{what} code", component.additional_includes
        )
        component.additional_includes = []
    elif isinstance(component, ParallelComponent):
        upload_task(upload, component.task, what)
    elif isinstance(component, PipelineComponent):
        upload_steps(upload, component.jobs, what)


def upload_steps(upload: Upload, steps: Mapping[str, StepBase], what: str) -> None:
    for name, step in steps.items():
        where = f"{what} step {name!r}"
        upload_inputs(upload, step.inputs, where)
        if isinstance(step, CommandStep) and local(step.code):
            assert step.code is not None
            step.code = upload_code(upload, step.code, f"{where} code")
        if isinstance(step, ParallelStep) and step.task is not None:
            upload_task(upload, step.task, where)
        component = getattr(step, "component", None)
        if isinstance(component, ComponentBase):
            upload_component(upload, component, where)


def upload_task(upload: Upload, task: ParallelTask, what: str) -> None:
    if local(task.code):
        assert task.code is not None
        task.code = upload_code(upload, task.code, f"{what} task code")


def upload_job(upload: Upload, job: Job) -> None:
    """Upload what a job of any type names on this machine, in place."""
    if isinstance(job, PipelineJob):
        upload_pipeline(upload, job)
        return
    command = job.trial if isinstance(job, SweepJob) else job
    if command.code and local(command.code):
        command.code = upload_code(upload, command.code, "job code")
    upload_inputs(upload, job.inputs, "job")


def upload_pipeline(upload: Upload, job: PipelineJob) -> None:
    upload_inputs(upload, job.inputs, "pipeline")
    upload_steps(upload, job.jobs, "pipeline")
    if isinstance(job.component, ComponentBase):
        upload_component(upload, job.component, "pipeline")


def _existing(path: str, what: str) -> Path:
    source = Path(path).expanduser()
    if not source.exists():
        raise ValidationError(f"{what}: local path {path} does not exist")
    return source.resolve()
