"""Loading components and pipelines from YAML: every relative path is resolved against the
file that wrote it, and a step's `component: ./train.yml` is read in, so a pipeline holds
what its files said when it was submitted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from orchard.entities.components import (
    INLINE_COMPONENT,
    CommandComponent,
    ParallelComponent,
    PipelineComponent,
)
from orchard.entities.spec import read_yaml, validate_spec
from orchard.errors import SpecError

Component = CommandComponent | ParallelComponent | PipelineComponent
COMPONENT_TYPES: dict[str, type[Component]] = {
    "command": CommandComponent,
    "parallel": ParallelComponent,
    "pipeline": PipelineComponent,
}


def component_from(
    body: dict[str, Any], origin: str, base: Path, *, strict: bool | None = None
) -> Component:
    kind = str(body.get("type", "command")).lower()
    cls = COMPONENT_TYPES.get(kind)
    if cls is None:
        raise SpecError(
            f"{origin}: field 'type': component type {kind!r} is not supported; "
            f"expected one of {', '.join(COMPONENT_TYPES)}"
        )
    if cls is CommandComponent:
        resolve_paths(body, base, ("code",))
        body["additional_includes"] = [
            str(absolute(base, p)) for p in body.get("additional_includes") or []
        ]
        read_inline_conda(body, base, origin)
    elif cls is ParallelComponent:
        resolve_task(body, base, origin)
    else:
        resolve_steps(body.get("jobs"), origin, base)
    return validate_spec(cls, body, source=origin, strict=strict)


def component_file(path: Path, *, strict: bool | None = None) -> Component:
    return component_from(read_yaml(path), str(path), path.parent, strict=strict)


def resolve_steps(jobs: Any, origin: str, base: Path) -> None:
    """Each step's local component file read in, inline ones and their paths resolved."""
    if not isinstance(jobs, dict):
        return
    for name, step in jobs.items():
        if not isinstance(step, dict):
            continue
        where = f"{origin} (jobs.{name})"
        component = step.get("component")
        if isinstance(component, str) and is_component_file(component):
            path = absolute(base, component.removeprefix("file:"))
            if not path.is_file():
                raise SpecError(f"{where}: field 'component': file {path} not found")
            step["component"] = component_file(path)
        elif isinstance(component, dict):
            step["component"] = component_from({"name": INLINE_COMPONENT, **component}, where, base)
        resolve_paths(step, base, ("code",))
        resolve_input_paths(step.get("inputs"), base)
        read_inline_conda(step, base, where)
        resolve_task(step, base, where)


def resolve_task(body: dict[str, Any], base: Path, origin: str) -> None:
    """A parallel step's `task:` holds its code and environment."""
    task = body.get("task")
    if isinstance(task, dict):
        resolve_paths(task, base, ("code",))
        read_inline_conda(task, base, f"{origin} (task)")


def resolve_input_paths(inputs: Any, base: Path) -> None:
    """`path: ./data` of a data input is relative to the spec, not the current folder."""
    if not isinstance(inputs, dict):
        return
    for value in inputs.values():
        if isinstance(value, dict):
            resolve_paths(value, base, ("path",))


def resolve_paths(body: dict[str, Any], base: Path, fields: tuple[str, ...]) -> None:
    for field in fields:
        value = body.get(field)
        if isinstance(value, str) and is_relative_local(value):
            body[field] = str(absolute(base, value.removeprefix("file:")))


def read_inline_conda(body: dict[str, Any], base: Path, origin: str) -> None:
    environment = body.get("environment")
    if isinstance(environment, dict) and isinstance(environment.get("conda_file"), str):
        environment["conda_file"] = read_conda_file(
            absolute(base, environment["conda_file"]), origin
        )


def read_conda_file(path: Path, origin: str) -> dict[str, Any]:
    if not path.is_file():
        raise SpecError(f"{origin}: field 'conda_file': file {path} not found")
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{origin}: conda_file {path}: malformed YAML: {exc}") from None
    if not isinstance(body, dict):
        raise SpecError(f"{origin}: conda_file {path}: expected a YAML mapping")
    return body


def is_component_file(value: str) -> bool:
    return value.startswith("file:") or (
        not value.startswith("azureml:") and value.endswith((".yml", ".yaml"))
    )


def is_relative_local(value: str) -> bool:
    # `runs:/<run>/...` (MLflow's, one slash) names a job's output, not a file here; a
    # `${{parent...}}` binding names another step's.
    if value.startswith(("azureml:", "runs:/", "${{")):
        return False
    return "://" not in value and not Path(value.removeprefix("file:")).is_absolute()


def absolute(base: Path, value: str) -> Path:
    return (base / value).resolve()
