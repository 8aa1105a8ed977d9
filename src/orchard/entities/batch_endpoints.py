"""Batch endpoints and their deployments: Azure ML v2 `batchEndpoint`, `batchDeployment`
(`type: model`) and `pipelineComponentBatchDeployment` (`type: pipeline`).

An endpoint is a stable name with a default deployment; invoking it starts a job that
scores data with that deployment: a model deployment runs its scoring script (or, for
an MLflow model, a built-in one) over mini-batches of the input with `orchard.parallel`;
a pipeline deployment runs its pipeline component with the inputs given.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from orchard.entities.assets import Environment, Model
from orchard.entities.base import Entity, Resource, string_values
from orchard.entities.components import PipelineComponent
from orchard.entities.endpoints import CodeConfiguration, ProvisioningState, name_inline_model
from orchard.entities.jobs import SCHEMA_ROOT, JobResources, name_inline_environment
from orchard.entities.parallel import LoggingLevel
from orchard.entities.pipelines import PipelineSettings

DEFAULT_OUTPUT_FILE = "predictions.csv"
SCORE_OUTPUT = "score"  # the output Azure's batch scoring jobs write, `--output-name score`
OutputAction = Annotated[
    Literal["append_row", "summary_only"],
    # The REST API and older specs spell them AppendRow / SummaryOnly.
    BeforeValidator(
        lambda v: {"appendrow": "append_row", "summaryonly": "summary_only"}.get(
            str(v).lower().replace("_", ""), v
        )
    ),
]
# Fields of `settings:` that the first batchDeployment schema had at the top level.
LEGACY_SETTINGS = (
    "mini_batch_size",
    "max_concurrency_per_instance",
    "output_action",
    "output_file_name",
    "retry_settings",
    "error_threshold",
    "logging_level",
    "environment_variables",
)


class BatchEndpointDefaults(Entity):
    deployment_name: str | None = None


class BatchEndpoint(Resource):
    kind: ClassVar[str] = "batch_endpoint"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/batchEndpoint.schema.json"

    auth_mode: Literal["aad_token", "key", "aml_token"] = "aad_token"
    defaults: BatchEndpointDefaults = Field(default_factory=BatchEndpointDefaults)
    # Set by Orchard.
    scoring_uri: str | None = None
    provisioning_state: ProvisioningState | None = None

    @field_validator("auth_mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class BatchRetrySettings(Entity):
    max_retries: int = Field(default=3, ge=0)
    timeout: int = Field(default=30, ge=1, description="seconds, each mini-batch")


class ModelBatchDeploymentSettings(Entity):
    mini_batch_size: int = Field(default=10, ge=1, description="files per mini-batch")
    max_concurrency_per_instance: int = Field(default=1, ge=1)
    instance_count: int | None = Field(default=None, ge=1)
    output_action: OutputAction = "append_row"
    output_file_name: str = Field(default=DEFAULT_OUTPUT_FILE, min_length=1)
    retry_settings: BatchRetrySettings = Field(default_factory=BatchRetrySettings)
    error_threshold: int = Field(default=-1, ge=-1)
    logging_level: LoggingLevel = "INFO"
    environment_variables: dict[str, str] = Field(default_factory=dict)

    _stringify = field_validator("environment_variables", mode="before")(string_values)


class BatchDeploymentBase(Resource):
    kind: ClassVar[str] = "batch_deployment"

    endpoint_name: str
    compute: str | None = None
    # Set by Orchard.
    provisioning_state: ProvisioningState | None = None

    @property
    def key(self) -> str:
        """How the store names it: deployments are unique per endpoint."""
        return batch_deployment_key(self.endpoint_name, self.name)


class ModelBatchDeployment(BatchDeploymentBase):
    """A model with the script that scores a mini-batch of files or rows with it; an MLflow
    model needs no script."""

    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/modelBatchDeployment.schema.json"

    type: Literal["model"] = "model"
    model: str | Model
    code_configuration: CodeConfiguration | None = None
    environment: str | Environment | None = None
    resources: JobResources | None = None
    settings: ModelBatchDeploymentSettings = Field(default_factory=ModelBatchDeploymentSettings)

    _inline_environment = field_validator("environment", mode="before")(name_inline_environment)

    @model_validator(mode="before")
    @classmethod
    def _lift_legacy_settings(cls, body: Any) -> Any:
        """The first schema's top-level `mini_batch_size: 10`, ... go under `settings:`."""
        if not isinstance(body, dict) or not any(k in body for k in LEGACY_SETTINGS):
            return body
        body = dict(body)
        settings = body.get("settings") or {}
        if isinstance(settings, Entity):
            settings = settings.model_dump(exclude_unset=True)
        merged = dict(settings)
        for field in LEGACY_SETTINGS:
            if field in body:
                merged.setdefault(field, body.pop(field))
        return {**body, "settings": merged}

    _inline_model = field_validator("model", mode="before")(name_inline_model)

    @property
    def instance_count(self) -> int:
        if self.settings.instance_count is not None:
            return self.settings.instance_count
        return self.resources.instance_count if self.resources else 1


class PipelineComponentBatchDeployment(BatchDeploymentBase):
    """A pipeline component (registered, or inline from a file), or the graph of an
    earlier pipeline job (`job_definition: azureml:<job>`), run with the invoke's inputs."""

    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/pipelineComponentBatchDeployment.schema.json"

    type: Literal["pipeline"] = "pipeline"
    component: str | PipelineComponent | None = None
    job_definition: str | None = None
    settings: PipelineSettings = Field(default_factory=PipelineSettings)

    @model_validator(mode="after")
    def _one_source(self) -> PipelineComponentBatchDeployment:
        if (self.component is None) == (self.job_definition is None):
            raise ValueError("a pipeline deployment needs one of component or job_definition")
        return self


def batch_deployment_key(endpoint: str, deployment: str) -> str:
    return f"{endpoint}/{deployment}"


BatchDeployment = ModelBatchDeployment  # azure.ai.ml's first name for it
BATCH_ENDPOINT_TYPES: dict[str, type[Resource]] = {"batch": BatchEndpoint}
BATCH_DEPLOYMENT_TYPES: dict[str, type[Resource]] = {
    "model": ModelBatchDeployment,
    "pipeline": PipelineComponentBatchDeployment,
}
