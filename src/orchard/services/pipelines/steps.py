"""The job each step runs: a command job for a command step, a command job running the
parallel driver for a parallel step, a child pipeline job for a pipeline step, named
`<pipeline>_<step>` and marked as the pipeline's child."""

from __future__ import annotations

from typing import Any

from orchard.entities.components import (
    INLINE_COMPONENT,
    CommandComponent,
    ComponentBase,
    ParallelComponent,
    PipelineComponent,
)
from orchard.entities.jobs import Input
from orchard.entities.pipelines import CommandStep, PipelineSettings, PipelineStep, StepBase
from orchard.errors import ValidationError
from orchard.parallel.batches import FILE_TYPES, TABULAR_TYPES
from orchard.parallel.command import bound_output, driver_command

# Properties every step's job carries, as Azure's node jobs do.
STEP_PROPERTY = "azureml.nodeid"
COMPONENT_PROPERTY = "azureml.component"
REUSED_PROPERTY = "azureml.isreused"
REUSED_FROM_PROPERTY = "azureml.reusedrunid"
# How a step that never ran, or ran in an earlier pipeline, shows in the graph.
SKIPPED = "Skipped"
REUSED = "Reused"
# A placeholder for an upstream output while the step is checked at submit.
PLACEHOLDER_URI = "azureml://datastores/workspaceblobstore/paths/azureml/{pipeline}/{step}/{name}/"
PARALLEL_INPUT_TYPES = (*FILE_TYPES, *TABULAR_TYPES)


def child_name(pipeline: str, step: str) -> str:
    return f"{pipeline}_{step}"


def child_spec(
    *,
    pipeline: str,
    experiment: str | None,
    step: str,
    node: StepBase,
    component: ComponentBase,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    compute: str | None,
    settings: PipelineSettings,
    data_type: str | None = None,
) -> dict[str, Any]:
    """The step's job as a spec, its upstream-bound inputs still to be filled in."""
    common: dict[str, Any] = {
        "name": child_name(pipeline, step),
        "display_name": node.display_name or step,
        "description": node.description,
        "experiment_name": experiment,
        "parent_job_name": pipeline,
        "compute": compute,
        "tags": node.tags,
        "properties": {STEP_PROPERTY: step}
        | ({COMPONENT_PROPERTY: _component_id(component)} if _component_id(component) else {}),
        "inputs": _with_defaults(component, inputs),
        "outputs": outputs,
    }
    if isinstance(component, PipelineComponent):
        assert isinstance(node, PipelineStep)
        inherited = settings.model_copy(update={"default_compute": compute})
        given = node.settings.model_dump(exclude_none=True) if node.settings else {}
        return _json(
            common
            | {
                "type": "pipeline",
                "jobs": component.jobs,
                "settings": inherited.model_copy(update=given),
            }
        )
    if isinstance(component, ParallelComponent):
        assert data_type is not None  # the planner read it from the input_data binding
        return _json(common | _parallel_job(step, node, component, data_type))
    assert isinstance(component, CommandComponent) and isinstance(node, CommandStep)
    return _json(
        common
        | {
            "type": "command",
            "command": component.command,
            "code": component.code,
            "environment": node.environment if node.component else component.environment,
            "environment_variables": component.environment_variables | node.environment_variables,
            "resources": node.resources or component.resources,
            "distribution": node.distribution or component.distribution,
            "limits": node.limits or component.limits,
            "services": node.services,
            "identity": node.identity,
            "queue_settings": node.queue_settings,
        }
    )


def _parallel_job(
    step: str, node: StepBase, component: ParallelComponent, data_type: str
) -> dict[str, Any]:
    task = component.task
    append_to_file = False
    if task.append_row_to:
        output = bound_output(task.append_row_to)
        declared = component.outputs.get(output or "")
        if declared is None:
            raise ValidationError(
                f"pipeline step {step!r}: task.append_row_to: {task.append_row_to!r} does "
                "not name an output of the step; give ${{outputs.<name>}} (its outputs: "
                f"{', '.join(component.outputs) or 'none'})"
            )
        append_to_file = declared.type == "uri_file"
    return {
        "type": "command",
        "command": driver_command(component, input_type=data_type, append_to_file=append_to_file),
        "code": task.code,
        "environment": task.environment,
        "environment_variables": component.environment_variables
        | task.environment_variables
        | node.environment_variables,
    }


def probe_spec(pipeline: str, step: str, plan: dict[str, Any]) -> dict[str, Any]:
    """The step's job as it will be submitted, a placeholder standing for each upstream
    output, so that it can be checked before the pipeline runs."""
    stand_ins = {
        name: Input(
            type=bound["type"],
            path=PLACEHOLDER_URI.format(pipeline=pipeline, step=bound["step"], name=name),
            mode=bound.get("mode"),
        )
        for name, bound in plan["from_steps"].items()
    }
    return fill_upstream(plan["job"], stand_ins)


def fill_upstream(spec: dict[str, Any], uris: dict[str, Input]) -> dict[str, Any]:
    """The spec with each upstream-bound input given the output it now reads."""
    inputs = dict(spec.get("inputs", {}))
    for name, value in uris.items():
        inputs[name] = value.model_dump(mode="json", exclude_none=True)
    return {**spec, "inputs": inputs}


def _with_defaults(component: ComponentBase, bound: dict[str, Any]) -> dict[str, Any]:
    """Bound inputs, plus each declared input left unbound that has a default (so the
    command renders and a child pipeline knows every input's type)."""
    inputs: dict[str, Any] = {}
    for name, declared in component.inputs.items():
        if name not in bound and declared.default is not None:
            inputs[name] = Input(type=declared.type, default=declared.default)
    for name, value in bound.items():
        found = component.inputs.get(name)
        if isinstance(component, PipelineComponent) and found and not isinstance(value, Input):
            value = Input(type=found.type, default=value)
        inputs[name] = value
    return inputs


def _component_id(component: ComponentBase) -> str | None:
    if component.name == INLINE_COMPONENT or component.version is None:
        return None
    return f"{component.name}:{component.version}"


def _json(spec: dict[str, Any]) -> dict[str, Any]:
    """Entities inside the spec dumped, Nones dropped: what the store keeps."""
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if value is None:
            continue
        out[key] = _dump(value)
    return out


def _dump(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True, by_alias=True)
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value
