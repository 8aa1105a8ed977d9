"""Pipeline jobs: Azure ML v2 `pipelineJob`, a graph of steps that pass data to each other.

A step (`jobs.<name>`) runs a component, referenced (`azureml:train:1`, a file) or inline,
or is an inline command or parallel job. Its inputs are literals, data, or bindings:
`${{parent.inputs.x}}` (the pipeline's input), `${{parent.jobs.<step>.outputs.y}}` (an
upstream step's output); an output bound to `${{parent.outputs.z}}` is the pipeline's.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from orchard.entities.assets import Environment
from orchard.entities.base import Entity
from orchard.entities.components import (
    INLINE_COMPONENT,
    CommandComponent,
    ComponentBase,
    ParallelComponent,
    PipelineComponent,
)
from orchard.entities.jobs import (
    SCHEMA_ROOT,
    CommandJob,
    Distribution,
    Input,
    InputValue,
    JobBase,
    JobLimits,
    JobResources,
    Output,
    name_inline_environment,
)
from orchard.entities.parallel import (
    LoggingLevel,
    ParallelSettings,
    ParallelTask,
    RetrySettings,
    check_mini_batch_size,
)

_BINDING = re.compile(
    r"^\$\{\{\s*parent\.(?:(?P<scope>inputs|outputs)\.(?P<name>[\w\-]+)"
    r"|jobs\.(?P<step>[\w\-]+)\.outputs\.(?P<output>[\w\-]+))\s*\}\}$"
)
_STEP_REFERENCE = re.compile(r"(\$\{\{\s*parent\.jobs\.)([\w\-]+)(\.outputs\.)")


@dataclass(frozen=True)
class Binding:
    """What one `${{parent...}}` expression names."""

    scope: Literal["inputs", "outputs", "jobs"]
    name: str  # the pipeline input or output; for "jobs", the step
    output: str | None = None  # for "jobs": the step's output

    def __str__(self) -> str:
        if self.scope == "jobs":
            return f"${{{{parent.jobs.{self.name}.outputs.{self.output}}}}}"
        return f"${{{{parent.{self.scope}.{self.name}}}}}"


def parse_binding(value: Any) -> Binding | None:
    """The binding a value is, or None for a literal, a path or anything else."""
    if not isinstance(value, str):
        return None
    match = _BINDING.match(value.strip())
    if match is None:
        return None
    if match.group("step"):
        return Binding("jobs", match.group("step"), match.group("output"))
    scope = match.group("scope")
    return Binding("inputs" if scope == "inputs" else "outputs", match.group("name"))


def rename_steps(text: str, names: dict[str, str]) -> str:
    """`${{parent.jobs.a.outputs.x}}` with step `a` renamed as `names` says."""
    return _STEP_REFERENCE.sub(
        lambda m: m.group(1) + names.get(m.group(2), m.group(2)) + m.group(3), text
    )


class NodeOutput:
    """`step.outputs.model`: the reference a downstream step's input takes, and a handle
    to set that output's `mode`, `path`, `type` or registration `name`/`version`."""

    def __init__(self, step: StepBase, name: str) -> None:
        self._step, self._name = step, name

    def __str__(self) -> str:
        return str(Binding("jobs", self._step.node_name, self._name))

    @property
    def step(self) -> StepBase:
        return self._step

    @property
    def port_name(self) -> str:
        return self._name

    def __getattr__(self, field: str) -> Any:
        current = self._step.outputs.get(self._name)
        return getattr(current, field) if isinstance(current, Output) else None

    def __setattr__(self, field: str, value: Any) -> None:
        if field.startswith("_"):
            super().__setattr__(field, value)
            return
        current = self._step.outputs.get(self._name)
        base = current if isinstance(current, Output) else Output()
        self._step.outputs[self._name] = base.model_copy(update={field: value})


class Ports(dict[str, Any]):
    """A step's outputs, readable as attributes: `train.outputs.model`."""

    owner: StepBase | None = None

    def __getattr__(self, name: str) -> NodeOutput:
        if name.startswith("_") or self.owner is None:
            raise AttributeError(name)
        return NodeOutput(self.owner, name)


def _ports(value: dict[str, Any]) -> Ports:
    return value if isinstance(value, Ports) else Ports(value)


StepOutput = Annotated[Output | str | None, Field(union_mode="left_to_right")]


class StepBase(Entity):
    """What every kind of step has: its interface bindings and where it runs."""

    type: str

    display_name: str | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    compute: str | None = None
    inputs: dict[str, InputValue] = Field(default_factory=dict)
    outputs: Annotated[dict[str, StepOutput], AfterValidator(_ports)] = Field(default_factory=Ports)
    environment_variables: dict[str, str] = Field(default_factory=dict)

    # The name a `@dsl.pipeline` function gives the step before it knows its variable name.
    _node_name: str = PrivateAttr(default="")

    def model_post_init(self, context: Any) -> None:
        assert isinstance(self.outputs, Ports)
        self.outputs.owner = self

    @property
    def node_name(self) -> str:
        return self._node_name

    def component_of(self) -> ComponentBase | str:
        raise NotImplementedError

    def specialise(self, component: ComponentBase) -> ComponentBase:
        """The component as this step runs it (a step may override some of its settings)."""
        return component

    @property
    def is_inline(self) -> bool:
        return getattr(self, "component", None) is None

    def inline_interface(self) -> dict[str, Any]:
        """An inline step's interface: it declares the inputs it was given a type or a
        literal for (the planner types the bound ones from what they are bound to), and the
        outputs it names."""
        declared = {
            name: value if isinstance(value, Input) else Input(type=literal_type(value))
            for name, value in self.inputs.items()
            if parse_binding(value) is None
            and not (isinstance(value, Input) and parse_binding(value.path) is not None)
        }
        outputs = {k: v if isinstance(v, Output) else Output() for k, v in self.outputs.items()}
        return {"inputs": declared, "outputs": outputs}


class CommandStep(StepBase):
    """A command step: a component's, or an inline command job's (`command:` given)."""

    type: Literal["command"] = "command"
    component: str | CommandComponent | None = None
    command: str | None = None
    code: str | None = None
    environment: str | Environment | None = None
    resources: JobResources | None = None
    distribution: Distribution | None = None
    limits: JobLimits | None = None
    services: dict[str, Any] | None = None
    identity: dict[str, Any] | None = None
    queue_settings: dict[str, Any] | None = None
    is_deterministic: bool | None = None
    experiment_name: str | None = None

    _inline_environment = field_validator("environment", mode="before")(name_inline_environment)

    @model_validator(mode="after")
    def _one_recipe(self) -> CommandStep:
        if self.component is None and not self.command:
            raise ValueError("a command step needs a 'component' or a 'command'")
        if self.component is not None and self.command:
            raise ValueError("a command step has a 'component' or a 'command', not both")
        return self

    def component_of(self) -> CommandComponent | str:
        """The step's component; an inline command job is its own anonymous component."""
        if self.component is not None:
            return self.component
        assert self.command is not None
        return CommandComponent(
            name=INLINE_COMPONENT,
            command=self.command,
            code=self.code,
            environment=self.environment,
            **self.inline_interface(),
        )


class ParallelStep(StepBase):
    """A parallel step: a parallel component's, or an inline parallel job (`task:` given).
    A step of a component may override the component's splitting and failure settings."""

    type: Literal["parallel"] = "parallel"
    component: str | ParallelComponent | None = None
    input_data: str | None = None
    mini_batch_size: str | None = None
    partition_keys: list[str] | None = None
    resources: JobResources | None = None
    max_concurrency_per_instance: int | None = Field(default=None, ge=1)
    mini_batch_error_threshold: int | None = Field(default=None, ge=-1)
    error_threshold: int | None = Field(default=None, ge=-1)
    retry_settings: RetrySettings | None = None
    logging_level: LoggingLevel | None = None
    task: ParallelTask | None = None
    is_deterministic: bool | None = None

    _check_size = field_validator("mini_batch_size")(lambda value: check_mini_batch_size(value))

    @model_validator(mode="after")
    def _one_recipe(self) -> ParallelStep:
        if self.component is None:
            if self.task is None or not self.input_data:
                raise ValueError(
                    "a parallel step needs a 'component', or 'input_data' and a 'task'"
                )
            self.component_of()  # an inline step is its own component: its rules hold
        return self

    def component_of(self) -> ParallelComponent | str:
        if self.component is not None:
            return self.component
        fields = self._overrides() | self.inline_interface()
        return ParallelComponent(name=INLINE_COMPONENT, **fields)

    def specialise(self, component: ComponentBase) -> ComponentBase:
        if not isinstance(component, ParallelComponent):
            return component
        return component.model_copy(update=self._overrides())

    def _overrides(self) -> dict[str, Any]:
        """The parallel settings the step gives. (Its environment_variables are the step's
        own, added to the component's when it runs.)"""
        return {
            name: getattr(self, name)
            for name in ParallelSettings.model_fields
            if name in self.model_fields_set
            and name != "environment_variables"
            and getattr(self, name) is not None
        }


def literal_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


class PipelineStep(StepBase):
    """A pipeline used as a step: it runs as a child pipeline job."""

    type: Literal["pipeline"] = "pipeline"
    component: str | PipelineComponent
    settings: PipelineSettings | None = None

    def component_of(self) -> PipelineComponent | str:
        return self.component


def _step_type(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return str(kind or "command").lower()


Step = Annotated[
    Annotated[CommandStep, Tag("command")]
    | Annotated[ParallelStep, Tag("parallel")]
    | Annotated[PipelineStep, Tag("pipeline")],
    Discriminator(_step_type),
]


class PipelineSettings(Entity):
    default_compute: str | None = None
    default_datastore: str | None = None
    default_environment: str | None = None
    continue_on_step_failure: bool | None = None
    force_rerun: bool | None = None
    on_init: str | None = None
    on_finalize: str | None = None


class PipelineJob(JobBase):
    kind: ClassVar[str] = "job"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/pipelineJob.schema.json"

    type: Literal["pipeline"] = "pipeline"
    settings: PipelineSettings = Field(default_factory=PipelineSettings)
    jobs: dict[str, Step] = Field(default_factory=dict)
    # A pipeline of a registered pipeline component (`component: azureml:...`).
    component: str | PipelineComponent | None = None

    @model_validator(mode="after")
    def _has_steps(self) -> PipelineJob:
        if not self.jobs and self.component is None:
            raise ValueError("jobs: a pipeline needs at least one step")
        return self


# Steps made while a `@dsl.pipeline` function runs, in the order it made them.
building: ContextVar[list[StepBase] | None] = ContextVar("orchard_pipeline_building", default=None)


STEP_TYPES: dict[str, type[CommandStep | ParallelStep | PipelineStep]] = {
    "command": CommandStep,
    "parallel": ParallelStep,
    "pipeline": PipelineStep,
}


def step_of(component: ComponentBase, inputs: dict[str, Any]) -> StepBase:
    """The step a component called with inputs gives; it joins the pipeline being built."""
    step = STEP_TYPES[component.type](component=component, inputs=_step_inputs(inputs))
    join_building(step)
    return step


def command_step(job: CommandJob, inputs: dict[str, Any]) -> CommandStep:
    """The inline step a `command(...)` job called with inputs gives, inside a pipeline."""
    step = CommandStep(
        command=job.command,
        code=job.code,
        environment=job.environment,
        environment_variables=job.environment_variables,
        resources=job.resources,
        distribution=job.distribution,
        limits=job.limits,
        compute=job.compute,
        display_name=job.display_name,
        description=job.description,
        tags=job.tags,
        inputs=job.inputs | _step_inputs(inputs),
        outputs=dict(job.outputs),
    )
    join_building(step)
    return step


def _step_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    values = {name: str(v) if isinstance(v, NodeOutput) else v for name, v in inputs.items()}
    return {name: v for name, v in values.items() if v is not None}


def join_building(step: StepBase) -> None:
    """Add the step to the pipeline a `@dsl.pipeline` function is building, if one is,
    under a stand-in name its outputs can be referred to by until it has its own."""
    collected = building.get()
    if collected is not None:
        step._node_name = f"__step{len(collected)}__"
        collected.append(step)


PipelineStep.model_rebuild()
PipelineComponent.model_rebuild()
