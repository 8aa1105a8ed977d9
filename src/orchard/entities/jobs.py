"""Job shapes: Azure ML v2 `commandJob` with its inputs, outputs and limits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, StrictBool, StrictFloat, StrictInt, field_validator

from orchard.entities.assets import Environment
from orchard.entities.base import Entity, Resource, string_values

if TYPE_CHECKING:
    from orchard.entities.sweep import SweepJob

SCHEMA_ROOT = "https://azuremlschemas.azureedge.net/latest"
ANONYMOUS_ENVIRONMENT = "CliV2AnonymousEnvironment"
# A job property: refuse an environment build that had to move a pinned package.
STRICT_ENVIRONMENTS = "orchard.strict_environments"
# Tags a script sets through its run context when it fails its own run (`run.fail()`).
ERROR_TAG = "orchard.run.error"
ERROR_CODE_TAG = "orchard.run.errorCode"
# Set when a script marks its job's run FAILED (`run.fail()`, `mlflow.end_run("FAILED")`):
# the job then fails once the script exits, and a later FINISHED (mlflow's atexit) does
# not undo it.
SCRIPT_FAILED_TAG = "orchard.job.failedByScript"

DataInputType = Literal[
    "uri_file", "uri_folder", "mltable", "mlflow_model", "custom_model", "triton_model"
]
MODEL_TYPES = frozenset({"mlflow_model", "custom_model", "triton_model"})
LiteralInputType = Literal["string", "integer", "number", "boolean"]
InputMode = Literal["ro_mount", "rw_mount", "download", "direct", "eval_mount", "eval_download"]
OutputMode = Literal["rw_mount", "upload", "direct"]


class JobStatus:
    """The states a job moves through, Azure's names."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    CANCEL_REQUESTED = "CancelRequested"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINAL: ClassVar[frozenset[str]] = frozenset({COMPLETED, FAILED, CANCELED})


class Input(Entity):
    """A job or component input: a data reference or a typed literal."""

    type: DataInputType | LiteralInputType = "uri_folder"
    path: str | None = None
    mode: InputMode | None = None
    default: Any = None
    optional: bool | None = None
    description: str | None = None
    min: float | None = None
    max: float | None = None
    enum: list[Any] | None = None
    datastore: str | None = None

    @property
    def is_literal(self) -> bool:
        return self.type in ("string", "integer", "number", "boolean")


class Output(Entity):
    type: DataInputType = "uri_folder"
    path: str | None = None
    mode: OutputMode | None = None
    name: str | None = None
    version: str | None = None
    description: str | None = None
    datastore: str | None = None


# In YAML a literal input may be written bare: `learning_rate: 0.01`. Strict number types
# keep the YAML's own type (a pipeline checks it against what a component declares).
InputValue = Annotated[
    Input | StrictBool | StrictInt | StrictFloat | str, Field(union_mode="left_to_right")
]


class JobLimits(Entity):
    timeout: int | None = Field(default=None, ge=1, description="seconds")


class JobResources(Entity):
    instance_count: int = Field(default=1, ge=1)
    instance_type: str | None = None
    shm_size: str | None = None
    docker_args: str | None = None
    properties: dict[str, Any] | None = None
    locations: list[str] | None = None


class Distribution(Entity):
    type: Literal["mpi", "pytorch", "tensorflow", "ray"]
    process_count_per_instance: int | None = None
    worker_count: int | None = None
    parameter_server_count: int | None = None
    include_dashboard: bool | None = None
    head_node_additional_args: str | None = None
    worker_node_additional_args: str | None = None


def input_texts(inputs: Mapping[str, InputValue]) -> dict[str, str]:
    """Each input as text, as `job list --columns inputs.<name>` and `job compare` show it:
    a literal's value (or its default), a data input's path."""
    found: dict[str, str] = {}
    for name, value in inputs.items():
        shown = (
            (value.path if value.path is not None else value.default)
            if isinstance(value, Input)
            else value
        )
        if shown is not None:
            found[name] = str(shown).lower() if isinstance(shown, bool) else str(shown)
    return found


def name_inline_environment(value: Any) -> Any:
    """An inline environment has no name: Azure calls it CliV2AnonymousEnvironment,
    versioned by a hash of its content, so equal ones are one environment."""
    if isinstance(value, dict) and not value.get("name"):
        body = json.dumps(value, sort_keys=True, default=str).encode()
        digest = hashlib.sha256(body).hexdigest()[:24]
        return {**value, "name": ANONYMOUS_ENVIRONMENT, "version": value.get("version") or digest}
    return value


class JobBase(Resource):
    """What every job type has: its place in an experiment, its data and how it ended."""

    name: str | None = None  # type: ignore[assignment]
    display_name: str | None = None
    experiment_name: str | None = None
    compute: str | None = None
    inputs: dict[str, InputValue] = Field(default_factory=dict)
    outputs: dict[str, Output | None] = Field(default_factory=dict)
    identity: dict[str, Any] | None = None
    services: dict[str, Any] | None = None
    queue_settings: dict[str, Any] | None = None
    parent_job_name: str | None = None
    # Set by Orchard: where the job is in its life, and how it ended.
    status: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    exit_code: int | None = None
    error: dict[str, Any] | None = None

    def input_values(self) -> dict[str, str]:
        return input_texts(self.inputs)


class CommandJob(JobBase):
    kind: ClassVar[str] = "job"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/commandJob.schema.json"
    local_path_fields: ClassVar[tuple[str, ...]] = ("code",)

    type: Literal["command"] = "command"
    code: str | None = None
    command: str
    environment: str | Environment | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)
    limits: JobLimits | None = None
    resources: JobResources | None = None
    distribution: Distribution | None = None
    # Inputs given a distribution by `job(lr=Uniform(...))`, waiting for `.sweep()`.
    _search_space: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __call__(self, **inputs: Any) -> Any:
        """azure.ai.ml's `command_job(lr=Uniform(...), epochs=10)`: a copy with those inputs
        set; the ones given a distribution become the search space of `.sweep()`. Inside a
        `@dsl.pipeline` function, called with no distribution, it is a step of the pipeline
        (a CommandStep)."""
        from orchard.entities.pipelines import building, command_step

        searching = any(isinstance(v, Entity) and not isinstance(v, Input) for v in inputs.values())
        if building.get() is not None and not searching:
            return command_step(self, inputs)
        copy = self.model_copy(deep=True)
        for name, value in inputs.items():
            if isinstance(value, Entity) and not isinstance(value, Input):
                copy._search_space[name] = value
                copy.inputs.pop(name, None)
            else:
                copy.inputs[name] = value
                copy._search_space.pop(name, None)
        return copy

    def sweep(self, *, primary_metric: str, goal: str, **settings: Any) -> SweepJob:
        """A sweep job with this command as its trial (azure.ai.ml's `.sweep()`)."""
        from orchard.entities.sweep import sweep_of

        return sweep_of(self, primary_metric=primary_metric, goal=goal, **settings)

    _inline_environment = field_validator("environment", mode="before")(name_inline_environment)

    _stringify = field_validator("environment_variables", mode="before")(string_values)
