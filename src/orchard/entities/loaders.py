"""``load_data``, ``load_model``, ... : Azure ML's `load_*` functions over our entities.

A spec's relative local paths are resolved against the spec's own folder, and an
environment's conda file is read in, so the asset holds what the file said when it
was registered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from orchard.entities.assets import Data, Environment, Model
from orchard.entities.base import Resource
from orchard.entities.batch_endpoints import (
    BatchEndpoint,
    ModelBatchDeployment,
    PipelineComponentBatchDeployment,
)
from orchard.entities.component_loading import (
    Component,
    absolute,
    component_file,
    component_from,
    is_component_file,
    is_relative_local,
    read_conda_file,
    resolve_input_paths,
    resolve_steps,
)
from orchard.entities.compute import ComputeBase
from orchard.entities.datastores import DatastoreBase
from orchard.entities.endpoints import ManagedOnlineDeployment, ManagedOnlineEndpoint
from orchard.entities.job_types import Job
from orchard.entities.jobs import CommandJob
from orchard.entities.pipelines import PipelineJob
from orchard.entities.registry import resource_class
from orchard.entities.schedules import JobSchedule, overridden_job
from orchard.entities.spec import apply_overrides, read_yaml, validate_spec
from orchard.entities.sweep import SweepJob, TrialCommand
from orchard.entities.workspace import Workspace
from orchard.errors import OrchardError, SpecError

R = TypeVar("R", bound=Resource)
Source = str | Path | Mapping[str, Any]


def load_data(source: Source, *, params_override: Iterable[str] = (), **kw: Any) -> Data:
    return _load(Data, source, params_override, **kw)


def load_model(source: Source, *, params_override: Iterable[str] = (), **kw: Any) -> Model:
    return _load(Model, source, params_override, **kw)


def load_environment(
    source: Source, *, params_override: Iterable[str] = (), **kw: Any
) -> Environment:
    environment = _load(Environment, source, params_override, **kw)
    origin = _origin(source)
    if isinstance(environment.conda_file, str):
        environment.conda_file = read_conda_file(Path(environment.conda_file), origin)
    if environment.build is not None and is_relative_local(environment.build.path):
        base = kw.get("base_path") or (Path(origin).parent if origin != "<spec>" else Path.cwd())
        environment.build.path = str((base / environment.build.path).resolve())
    return environment


def load_workspace(source: Source, *, params_override: Iterable[str] = (), **kw: Any) -> Workspace:
    return _load(Workspace, source, params_override, **kw)


def load_datastore(
    source: Source, *, params_override: Iterable[str] = (), **kw: Any
) -> DatastoreBase:
    body, origin = _body(source, params_override)
    cls = _typed(resource_class, "datastore", body, origin)
    loaded = _validate(cls, body, origin, **kw)
    assert isinstance(loaded, DatastoreBase)
    return loaded


def load_compute(source: Source, *, params_override: Iterable[str] = (), **kw: Any) -> ComputeBase:
    body, origin = _body(source, params_override)
    cls = _typed(resource_class, "compute", body, origin)
    loaded = _validate(cls, body, origin, **kw)
    assert isinstance(loaded, ComputeBase)
    return loaded


def load_job(source: Source, *, params_override: Iterable[str] = (), **kw: Any) -> Job:
    """A command or sweep job spec; its code path is resolved against the spec's folder and
    its inline environment's conda file is read in."""
    body, origin = _body(source, params_override)
    kind = str(body.get("type", "command"))
    base = kw.pop("base_path", None) or (Path(origin).parent if origin != "<spec>" else Path.cwd())
    job: Job
    if kind == "sweep":
        trial = body.get("trial")
        code = trial.get("code") if isinstance(trial, dict) else None
        if isinstance(trial, dict) and isinstance(code, str) and is_relative_local(code):
            trial["code"] = str((base / code).resolve())
        job = _validate(SweepJob, body, origin, **kw)
        command: CommandJob | TrialCommand = job.trial
    elif kind == "command":
        resolve_input_paths(body.get("inputs"), base)
        job = command = _validate(CommandJob, body, origin, **kw)
    elif kind == "pipeline":
        resolve_input_paths(body.get("inputs"), base)
        resolve_steps(body.get("jobs"), origin, base)
        return _validate(PipelineJob, body, origin, **kw)
    else:
        raise SpecError(f"{origin}: field 'type': job type {kind!r} is not supported yet")
    _read_conda_of(command.environment, base, origin)
    return job


def load_component(source: Source, *, params_override: Iterable[str] = (), **kw: Any) -> Component:
    """A commandComponent or pipelineComponent spec, its local files resolved and read in."""
    body, origin = _body(source, params_override)
    base = kw.pop("base_path", None) or (Path(origin).parent if origin != "<spec>" else Path.cwd())
    return component_from(body, origin, base, strict=kw.get("strict"))


def load_schedule(source: Source, *, params_override: Iterable[str] = (), **kw: Any) -> JobSchedule:
    """A schedule spec. Its `create_job` is a job file (`./pipeline.yml`), a job of the
    workspace to copy (`azureml:<job name>`), an inline job, or Azure's `{job: <file or
    azureml:name>, ...}` with fields that override that job's (settings, inputs, outputs,
    experiment_name, tags)."""
    body, origin = _body(source, params_override)
    base = Path(origin).parent if origin != "<spec>" else Path.cwd()
    create_job = body.get("create_job")
    if isinstance(create_job, str) and not create_job.startswith("azureml:"):
        body["create_job"] = _job_file(base, create_job, origin)
    elif isinstance(create_job, dict) and isinstance(create_job.get("job"), str):
        overrides = {k: v for k, v in create_job.items() if k != "job"}
        reference = create_job["job"]
        if reference.startswith("azureml:"):
            body["create_job"] = {"job": reference, **overrides}
        else:
            body["create_job"] = overridden_job(_job_file(base, reference, origin), overrides)
    elif isinstance(create_job, dict):
        job = load_job(create_job, base_path=base, strict=kw.get("strict"))
        body["create_job"] = job.model_dump(mode="json", exclude_none=True, by_alias=True)
    return _validate(JobSchedule, body, origin, **kw)


def _job_file(base: Path, reference: str, origin: str) -> dict[str, Any]:
    path = (base / reference.removeprefix("file:")).resolve()
    if not path.is_file():
        raise SpecError(f"{origin}: field 'create_job': file {path} not found")
    return load_job(path).model_dump(mode="json", exclude_none=True, by_alias=True)


def load_online_endpoint(
    source: Source, *, params_override: Iterable[str] = (), **kw: Any
) -> ManagedOnlineEndpoint:
    return _load(ManagedOnlineEndpoint, source, params_override, **kw)


def load_online_deployment(
    source: Source, *, params_override: Iterable[str] = (), **kw: Any
) -> ManagedOnlineDeployment:
    """A deployment spec: its model path, scoring code and conda file are resolved against
    the spec's folder, and the conda file read in."""
    body, origin = _body(source, params_override)
    base = Path(origin).parent if origin != "<spec>" else Path.cwd()
    _resolve_model_and_code(body, base)
    deployment = _validate(ManagedOnlineDeployment, body, origin, **kw)
    _read_conda_of(deployment.environment, base, origin)
    return deployment


def load_batch_endpoint(
    source: Source, *, params_override: Iterable[str] = (), **kw: Any
) -> BatchEndpoint:
    return _load(BatchEndpoint, source, params_override, **kw)


def load_batch_deployment(
    source: Source, *, params_override: Iterable[str] = (), **kw: Any
) -> ModelBatchDeployment | PipelineComponentBatchDeployment:
    """A `type: model` (the default) or `type: pipeline` batch deployment spec, its local
    model, code, conda file and pipeline component file resolved against its folder."""
    body, origin = _body(source, params_override)
    base = Path(origin).parent if origin != "<spec>" else Path.cwd()
    if str(body.get("type", "model")).lower() == "pipeline":
        component = body.get("component")
        if isinstance(component, str) and is_component_file(component):
            body["component"] = component_file(absolute(base, component), strict=kw.get("strict"))
        elif isinstance(component, dict):
            body["component"] = component_from(component, origin, base, strict=kw.get("strict"))
        return _validate(PipelineComponentBatchDeployment, body, origin, **kw)
    _resolve_model_and_code(body, base)
    deployment = _validate(ModelBatchDeployment, body, origin, **kw)
    _read_conda_of(deployment.environment, base, origin)
    return deployment


def _resolve_model_and_code(body: dict[str, Any], base: Path) -> None:
    """A deployment's local model and code paths made absolute; the first schema's
    `{local_path: ./model}` read as the path."""
    for holder, field in (("model", "path"), ("code_configuration", "code")):
        part = body.get(holder)
        if not isinstance(part, dict):
            continue
        if isinstance(part.get(field), dict):
            part[field] = part[field].get("local_path")  # code: {local_path: ./code}
        if "local_path" in part:
            part[field] = part.pop("local_path")
        value = part.get(field)
        if isinstance(value, str) and is_relative_local(value):
            part[field] = str((base / value).resolve())


def _read_conda_of(environment: object, base: Path, origin: str) -> None:
    if isinstance(environment, Environment) and isinstance(environment.conda_file, str):
        environment.conda_file = read_conda_file(base / environment.conda_file, origin)


def _load(cls: type[R], source: Source, overrides: Iterable[str], **kw: Any) -> R:
    body, origin = _body(source, overrides)
    return _validate(cls, body, origin, **kw)


def _validate(
    cls: type[R],
    body: dict[str, Any],
    origin: str,
    *,
    strict: bool | None = None,
    base_path: Path | None = None,
) -> R:
    base = base_path or (Path(origin).parent if origin != "<spec>" else Path.cwd())
    for field in cls.local_path_fields:
        value = body.get(field)
        if isinstance(value, str) and is_relative_local(value):
            body[field] = str((base / value).resolve())
    return validate_spec(cls, body, source=origin, strict=strict)


def _body(source: Source, overrides: Iterable[str]) -> tuple[dict[str, Any], str]:
    if isinstance(source, Mapping):
        body, origin = dict(source), "<spec>"
    else:
        path = Path(source)
        body, origin = read_yaml(path), str(path)
    apply_overrides(body, overrides, origin)
    return body, origin


def _origin(source: Source) -> str:
    return "<spec>" if isinstance(source, Mapping) else str(source)


def _typed(lookup: Any, kind: str, body: dict[str, Any], origin: str) -> type[Resource]:
    try:
        cls: type[Resource] = lookup(kind, body.get("type"))
    except OrchardError as exc:
        raise SpecError(f"{origin}: field 'type': {exc.message}") from None
    return cls
