"""`@dsl.pipeline`: azure.ai.ml's decorator that builds a pipeline job from a function.

Inside the function, calling a loaded component gives a step; passing one step's
`outputs.<name>` to another's input draws an edge; the function's parameters are the
pipeline's inputs and the dict it returns names the pipeline's outputs. Steps take the
names of the variables they were assigned to, as in Azure ML. A decorated function
called inside another one is a nested pipeline step.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from orchard.entities.components import PipelineComponent
from orchard.entities.jobs import Input, Output
from orchard.entities.pipelines import (
    NodeOutput,
    PipelineJob,
    PipelineSettings,
    PipelineStep,
    StepBase,
    building,
    join_building,
    literal_type,
    parse_binding,
    rename_steps,
)
from orchard.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])
SETTING_NAMES = ("default_compute", "default_datastore", "continue_on_step_failure", "force_rerun")


def pipeline(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    experiment_name: str | None = None,
    tags: dict[str, str] | None = None,
    compute: str | None = None,
    **settings: Any,
) -> Any:
    """`@dsl.pipeline(compute=..., description=...)` or bare `@dsl.pipeline`."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def build(*args: Any, **kwargs: Any) -> PipelineJob | PipelineStep:
            given = inspect.signature(function).bind(*args, **kwargs)
            given.apply_defaults()
            values = {k: v for k, v in given.arguments.items() if v is not None}
            steps, outputs = _run(function, list(given.arguments))
            job = PipelineJob(
                name=None,
                display_name=display_name or name or function.__name__,
                description=description or inspect.getdoc(function),
                experiment_name=experiment_name,
                tags=tags or {},
                compute=compute,
                settings=PipelineSettings(
                    **{k: v for k, v in settings.items() if k in SETTING_NAMES}
                ),
                inputs={k: _input_value(v) for k, v in values.items()},
                outputs=outputs,
                jobs=steps,
            )
            return _as_step(job, name or function.__name__, values) if building.get() else job

        return build

    return decorate(func) if func is not None else decorate


def _run(
    function: Callable[..., Any], parameters: list[str]
) -> tuple[dict[str, StepBase], dict[str, Output | None]]:
    """Call the function with a `${{parent.inputs.<p>}}` for each parameter; the steps it
    made, named, and the pipeline outputs its returned dict binds."""
    made: list[StepBase] = []
    token = building.set(made)
    try:
        stand_ins = {p: f"${{{{parent.inputs.{p}}}}}" for p in parameters}
        result, local_names = _call_seeing_locals(function, stand_ins)
    finally:
        building.reset(token)
    names = _step_names(made, local_names)
    for step in made:
        _rename_inputs(step, names)
    steps = {names[step.node_name]: step for step in made}
    return steps, _bind_outputs(result, names)


def _call_seeing_locals(
    function: Callable[..., Any], kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The function's result and its local variables as it returned (how Azure ML names
    steps after the variables they were assigned to)."""
    seen: dict[str, Any] = {}
    code = getattr(function, "__code__", None)

    def watch(frame: FrameType, event: str, _: Any) -> None:
        if event == "return" and frame.f_code is code:
            seen.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = function(**kwargs)
    finally:
        sys.setprofile(previous)
    return result, seen


def _step_names(made: list[StepBase], local_names: dict[str, Any]) -> dict[str, str]:
    """Provisional name -> final name: the variable, else the component's name, made
    unique with a `_<n>` suffix."""
    taken: set[str] = set()
    names: dict[str, str] = {}
    for step in made:
        variable = next((k for k, v in local_names.items() if v is step), None)
        base = variable or _component_name(step)
        final, n = base, 0
        while final in taken:
            n += 1
            final = f"{base}_{n}"
        taken.add(final)
        names[step.node_name] = final
    return names


def _component_name(step: StepBase) -> str:
    component = getattr(step, "component", None)
    return str(getattr(component, "name", None) or component or "step")


def _rename_inputs(step: StepBase, names: dict[str, str]) -> None:
    for key, value in list(step.inputs.items()):
        if isinstance(value, str):
            step.inputs[key] = rename_steps(value, names)
        elif isinstance(value, Input) and value.path:
            value.path = rename_steps(value.path, names)


def _bind_outputs(result: Any, names: dict[str, str]) -> dict[str, Output | None]:
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise ValidationError(
            "a @dsl.pipeline function returns a dict of {output name: step.outputs.<name>} "
            f"or nothing, not {type(result).__name__}"
        )
    outputs: dict[str, Output | None] = {}
    for key, value in result.items():
        if not isinstance(value, NodeOutput):
            raise ValidationError(
                f"pipeline output {key!r}: expected a step's output (step.outputs.<name>), "
                f"got {type(value).__name__}"
            )
        chosen = value.step.outputs.get(value.port_name)
        outputs[key] = (
            chosen.model_copy(update={"path": None}) if isinstance(chosen, Output) else None
        )
        value.step.outputs[value.port_name] = f"${{{{parent.outputs.{key}}}}}"
    return outputs


def _input_value(value: Any) -> Any:
    if isinstance(value, NodeOutput):
        return str(value)
    return value


def _as_step(job: PipelineJob, name: str, values: dict[str, Any]) -> PipelineStep:
    """A pipeline built inside another: a step running it as a pipeline component."""
    declared = {k: Input(type=_type_of(k, v, job), optional=True) for k, v in values.items()}
    component = PipelineComponent(
        name=name,
        display_name=job.display_name,
        description=job.description,
        inputs=declared,
        outputs={k: v or Output() for k, v in job.outputs.items()},
        jobs=job.jobs,
    )
    step = PipelineStep(component=component, inputs={k: _input_value(v) for k, v in values.items()})
    join_building(step)
    return step


def _type_of(name: str, value: Any, job: PipelineJob) -> str:
    """A nested pipeline's input type: the value's own, or for a value bound to something
    of the outer pipeline, the type the inner step it feeds declares."""
    if isinstance(value, Input):
        return value.type
    if not isinstance(value, NodeOutput) and parse_binding(value) is None:
        return literal_type(value)
    wanted = f"${{{{parent.inputs.{name}}}}}"
    for step in job.jobs.values():
        component = getattr(step, "component", None)
        for input_name, bound in step.inputs.items():
            declared = getattr(component, "inputs", {}).get(input_name)
            if bound == wanted and declared is not None:
                return str(declared.type)
    return "uri_folder"
