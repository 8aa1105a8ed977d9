"""Online endpoints and their deployments: Azure ML v2 `managedOnlineEndpoint` and
`managedOnlineDeployment` (the Kubernetes kinds load into the same shapes).

An endpoint is the stable scoring URI with its keys and traffic split; each deployment is a
model plus the code and environment that serve it, run as `instance_count` workers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from orchard.entities.assets import Environment, Model
from orchard.entities.base import Entity, Resource, string_values
from orchard.entities.jobs import SCHEMA_ROOT, name_inline_environment

ANONYMOUS_MODEL = "CliV2AnonymousModel"
AuthMode = Literal["key", "aml_token", "aad_token"]
ProvisioningState = Literal["Creating", "Updating", "Succeeded", "Failed", "Deleting"]


class CodeConfiguration(Entity):
    code: str
    scoring_script: str


class OnlineRequestSettings(Entity):
    request_timeout_ms: int = Field(default=5000, ge=1, le=180_000)
    max_concurrent_requests_per_instance: int = Field(default=1, ge=1)
    max_queue_wait_ms: int | None = Field(default=None, ge=0)


class ProbeSettings(Entity):
    initial_delay: int = Field(default=10, ge=0, description="seconds")
    period: int = Field(default=10, ge=1, description="seconds")
    timeout: int = Field(default=2, ge=1, description="seconds")
    success_threshold: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=30, ge=1)


class DataCollection(Entity):
    """One collection of a deployment's `data_collector`; `model_inputs` and `model_outputs`
    are the request and response bodies. `data.path` (a datastore URI) says where its
    files go instead of `modelDataCollector/<endpoint>/<deployment>/<collection>/`."""

    enabled: Annotated[bool, BeforeValidator(lambda v: str(v).lower() == "true")] = False
    data: str | dict[str, Any] | None = None
    client_id: str | None = None
    sampling_rate: float | None = Field(default=None, ge=0, le=1)


class DataCollector(Entity):
    """Payload collection: Orchard's workers collect `model_inputs` and `model_outputs`
    (any other collection is a custom one, which a script's own collector writes)."""

    collections: dict[str, DataCollection] = Field(default_factory=dict)
    sampling_rate: float = Field(default=1.0, ge=0, le=1, description="share of requests")
    rolling_rate: Annotated[
        Literal["minute", "hour", "day"], BeforeValidator(lambda v: str(v).lower())
    ] = "hour"
    request_logging: dict[str, Any] | None = None
    destination: dict[str, Any] | None = None


PAYLOAD_COLLECTIONS = ("model_inputs", "model_outputs")


class ManagedOnlineEndpoint(Resource):
    kind: ClassVar[str] = "online_endpoint"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/managedOnlineEndpoint.schema.json"

    type: Literal["managed", "kubernetes"] = "managed"
    auth_mode: Annotated[AuthMode, Field(description="key or aml_token")] = "key"
    traffic: dict[str, int] = Field(default_factory=dict)
    mirror_traffic: dict[str, int] = Field(default_factory=dict)
    identity: dict[str, Any] | None = None
    public_network_access: Literal["enabled", "disabled"] | None = None
    compute: str | None = None  # Kubernetes endpoints name their cluster
    # Set by Orchard.
    scoring_uri: str | None = None
    openapi_uri: str | None = None
    provisioning_state: ProvisioningState | None = None

    @field_validator("auth_mode", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _percentages(self) -> ManagedOnlineEndpoint:
        for field, shares in (("traffic", self.traffic), ("mirror_traffic", self.mirror_traffic)):
            for deployment, share in shares.items():
                if not 0 <= share <= 100:
                    raise ValueError(f"{field}.{deployment}: {share} is not between 0 and 100")
        if self.traffic and sum(self.traffic.values()) not in (0, 100):
            raise ValueError(
                f"traffic: the percentages add up to {sum(self.traffic.values())}, not 100"
            )
        return self


def applied_marker(endpoint: ManagedOnlineEndpoint, keys: EndpointAuthKeys) -> str:
    """What an endpoint's host records once it serves this auth mode, traffic and keys;
    a client that changed one of them waits to see it."""
    body = json.dumps(
        [
            endpoint.auth_mode,
            endpoint.traffic,
            endpoint.mirror_traffic,
            keys.primary_key,
            keys.secondary_key,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def name_inline_model(value: Any) -> Any:
    """An inline model (`model: {path: ./model}`) has no name: Azure registers it
    anonymously, named by a hash of its content so equal ones are one model."""
    if isinstance(value, dict) and not value.get("name"):
        digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
        return {**value, "name": ANONYMOUS_MODEL, "version": value.get("version") or digest[:24]}
    return value


class ManagedOnlineDeployment(Resource):
    kind: ClassVar[str] = "online_deployment"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/managedOnlineDeployment.schema.json"
    local_path_fields: ClassVar[tuple[str, ...]] = ()

    type: Literal["managed", "kubernetes"] = "managed"
    endpoint_name: str
    model: str | Model | None = None
    code_configuration: CodeConfiguration | None = None
    environment: str | Environment | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)
    instance_type: str | None = None
    instance_count: int = Field(default=1, ge=1)
    request_settings: OnlineRequestSettings = Field(default_factory=OnlineRequestSettings)
    liveness_probe: ProbeSettings | None = None
    readiness_probe: ProbeSettings | None = None
    app_insights_enabled: bool | None = None
    scale_settings: dict[str, Any] | None = None
    data_collector: DataCollector | None = None
    egress_public_network_access: Literal["enabled", "disabled"] | None = None
    resources: dict[str, Any] | None = None  # Kubernetes deployments' requests and limits
    # Set by Orchard: Creating or Updating until its workers answer, then Succeeded, or
    # Failed with why (an init() that raised, say) in `error`.
    provisioning_state: ProvisioningState | None = None
    error: str | None = None

    _inline_environment = field_validator("environment", mode="before")(name_inline_environment)

    _inline_model = field_validator("model", mode="before")(name_inline_model)

    _texts = field_validator("environment_variables", mode="before")(string_values)

    @model_validator(mode="after")
    def _servable(self) -> ManagedOnlineDeployment:
        if self.model is None and self.code_configuration is None:
            raise ValueError("a deployment needs a model, a code_configuration, or both")
        return self

    def spec_digest(self) -> str:
        """What, changed, needs new workers (not what Orchard writes on it)."""
        body = self.model_dump(
            mode="json",
            exclude={"provisioning_state", "error", "creation_context", "id", "description"},
            exclude_none=True,
        )
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def key(self) -> str:
        """How the store names it: deployments are unique per endpoint."""
        return deployment_key(self.endpoint_name, self.name)


class EndpointAuthKeys(Entity):
    primary_key: str
    secondary_key: str


class AccessToken(Entity):
    """What `get-credentials` gives for an aml_token endpoint, as azure.ai.ml's AccessToken."""

    access_token: str
    token_type: str = "Bearer"
    expiry_time_utc: int = Field(description="epoch seconds")
    refresh_after_time_utc: int = Field(description="epoch seconds")


def deployment_key(endpoint: str, deployment: str) -> str:
    return f"{endpoint}/{deployment}"


KubernetesOnlineEndpoint = ManagedOnlineEndpoint
KubernetesOnlineDeployment = ManagedOnlineDeployment
ONLINE_ENDPOINT_TYPES: dict[str, type[Resource]] = {
    "managed": ManagedOnlineEndpoint,
    "kubernetes": ManagedOnlineEndpoint,
}
ONLINE_DEPLOYMENT_TYPES: dict[str, type[Resource]] = {
    "managed": ManagedOnlineDeployment,
    "kubernetes": ManagedOnlineDeployment,
}
