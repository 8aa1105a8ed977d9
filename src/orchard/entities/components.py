"""Components: Azure ML v2 `commandComponent`, `parallelComponent` and `pipelineComponent`,
versioned assets.

A component is a job's recipe with its interface declared: typed inputs (defaults,
optional, enum, min/max) and outputs. Called with inputs (`train(data=..., lr=0.1)`) a
loaded component gives a pipeline step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from orchard.entities.assets import SCHEMA_ROOT, Environment
from orchard.entities.base import Asset
from orchard.entities.jobs import (
    Distribution,
    Input,
    JobLimits,
    JobResources,
    Output,
    name_inline_environment,
)
from orchard.entities.parallel import ParallelSettings

if TYPE_CHECKING:
    from orchard.entities.pipelines import Step, StepBase

# The name Azure gives a component written inline in a pipeline, unnamed.
INLINE_COMPONENT = "azureml_anonymous"


class ComponentBase(Asset):
    kind: ClassVar[str] = "component"

    type: str
    display_name: str | None = None
    is_deterministic: bool = True
    inputs: dict[str, Input] = Field(default_factory=dict)
    outputs: dict[str, Output] = Field(default_factory=dict)

    @field_validator("inputs", mode="before")
    @classmethod
    def _typed_inputs(cls, value: Any) -> Any:
        # `lr: number` is short for `lr: {type: number}` in some published specs.
        if isinstance(value, dict):
            return {k: {"type": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("outputs", mode="before")
    @classmethod
    def _typed_outputs(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {} if v is None else v for k, v in value.items()}
        return value

    def __call__(self, **inputs: Any) -> StepBase:
        """A pipeline step running this component with these inputs (inside a
        `@dsl.pipeline` function, the step joins that pipeline)."""
        from orchard.entities.pipelines import step_of

        return step_of(self, inputs)


class CommandComponent(ComponentBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/commandComponent.schema.json"
    local_path_fields: ClassVar[tuple[str, ...]] = ("code",)

    type: Literal["command"] = "command"
    command: str = Field(min_length=1)
    code: str | None = None
    environment: str | Environment | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)
    resources: JobResources | None = None
    distribution: Distribution | None = None
    limits: JobLimits | None = None
    additional_includes: list[str] = Field(default_factory=list)
    # Older specs carry it; Azure ignores it in favour of resources.instance_count.
    instance_count: int | None = None

    _inline_environment = field_validator("environment", mode="before")(name_inline_environment)


class ParallelComponent(ParallelSettings, ComponentBase):
    """An entry script over mini-batches of one input (`type: parallel`); it runs as a
    command job whose command is Orchard's parallel driver."""

    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/parallelComponent.schema.json"

    type: Literal["parallel"] = "parallel"


class PipelineComponent(ComponentBase):
    """A pipeline as a reusable step: its own steps, bound to its inputs and outputs."""

    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/pipelineComponent.schema.json"

    type: Literal["pipeline"] = "pipeline"
    jobs: dict[str, Step] = Field(default_factory=dict)
