"""Compute shapes. Orchard runs `local`, `cluster` (Azure's `amlcompute`) and `ray`;
the other Azure kinds load so their specs validate, and run on what Orchard has."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter, field_validator

from orchard.entities.assets import LowerCase, SnakeCase, TimestampText, snake_case, type_tag
from orchard.entities.base import Entity, Resource, string_values

SCHEMA_ROOT = "https://azuremlschemas.azureedge.net/latest"
COMPUTE_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9\-]{0,22}[A-Za-z0-9]$"

IdentityType = Literal["system_assigned", "user_assigned", "system_assigned,user_assigned", "none"]
WeekDay = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class ManagedIdentity(Entity):
    """A user-assigned identity; only `resource_id` is given, the rest the service fills in."""

    resource_id: str | None = None
    principal_id: str | None = None
    client_id: str | None = None
    tenant_id: str | None = None


class IdentityConfiguration(Entity):
    # Azure writes `SystemAssigned` or `system_assigned`; both mean the same.
    type: Annotated[IdentityType, SnakeCase]
    user_assigned_identities: list[ManagedIdentity] | None = None
    principal_id: str | None = None
    tenant_id: str | None = None


class SshSettings(Entity):
    """SSH access; each compute kind uses some of these (Azure has one class per kind)."""

    admin_username: str | None = None
    admin_password: str | None = None
    ssh_key_value: str | None = None
    ssh_private_key_file: str | None = None
    ssh_port: int | None = None


class NetworkSettings(Entity):
    vnet_name: str | None = None
    subnet: str | None = None
    # Set by the service.
    public_ip_address: str | None = None
    private_ip_address: str | None = None


class ComputeBase(Resource):
    kind: ClassVar[str] = "compute"
    name: str = Field(pattern=COMPUTE_NAME_PATTERN)
    location: str | None = None
    # The ARM id of an attached resource (VM, Synapse pool, Kubernetes cluster).
    resource_id: str | None = None
    identity: IdentityConfiguration | None = None
    # Filled in by the service: what Orchard runs this compute's jobs on.
    provisioning_state: str | None = None
    # Set by the service in a dumped spec; accepted back and ignored.
    provisioning_errors: str | None = None
    created_on: Annotated[str | None, TimestampText] = None


class LocalCompute(ComputeBase):
    type: Literal["local"] = "local"
    max_concurrent_jobs: int = Field(default=4, ge=1)


class AmlCompute(ComputeBase):
    """A pool of worker nodes that scales between min and max and idles down."""

    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/amlCompute.schema.json"
    type: Annotated[Literal["amlcompute", "cluster"], LowerCase] = "amlcompute"
    size: str | None = None
    tier: Literal["dedicated", "low_priority"] | None = None
    min_instances: int = Field(default=0, ge=0)
    # Azure's default is 4; Orchard's stays 1 so an unsized cluster stays small.
    max_instances: int = Field(default=1, ge=1)
    idle_time_before_scale_down: int = Field(default=120, ge=0)
    ssh_public_access_enabled: bool | None = None
    ssh_settings: SshSettings | None = None
    network_settings: NetworkSettings | None = None
    enable_node_public_ip: bool | None = None

    @field_validator("tier", mode="before")
    @classmethod
    def _tier(cls, value: Any) -> Any:
        # Azure accepts `low_priority` and `LowPriority`; early examples wrote `lowpriority`.
        value = snake_case(value)
        return "low_priority" if value == "lowpriority" else value


class CronTrigger(Entity):
    type: Annotated[Literal["cron"], LowerCase] = "cron"
    expression: str
    start_time: Annotated[str | None, TimestampText] = None
    time_zone: str | None = None


class RecurrencePattern(Entity):
    week_days: list[Annotated[WeekDay, LowerCase]] | None = None
    hours: list[int] | None = None
    minutes: list[int] | None = None


class RecurrenceTrigger(Entity):
    type: Annotated[Literal["recurrence"], LowerCase] = "recurrence"
    frequency: Annotated[Literal["minute", "hour", "day", "week", "month"], LowerCase]
    interval: int | None = None
    schedule: RecurrencePattern | None = None
    start_time: Annotated[str | None, TimestampText] = None
    time_zone: str | None = None


# Union tags are class names: spec errors leave those out of a field's dotted path.
_TRIGGERS = {"cron": "CronTrigger", "recurrence": "RecurrenceTrigger"}


def _trigger_kind(value: Any) -> str | None:
    return _TRIGGERS.get(type_tag(value) or "")


Trigger = Annotated[
    Annotated[CronTrigger, Tag("CronTrigger")]
    | Annotated[RecurrenceTrigger, Tag("RecurrenceTrigger")],
    Discriminator(
        _trigger_kind,
        custom_error_type="trigger_type",
        custom_error_message="a trigger's type must be cron or recurrence",
    ),
]


class ComputeStartStopSchedule(Entity):
    action: Annotated[Literal["start", "stop"], LowerCase]
    trigger: Trigger | None = None
    state: Annotated[Literal["enabled", "disabled"] | None, LowerCase] = None
    # Set by the service.
    schedule_id: str | None = None
    provisioning_state: str | None = None


class ComputeSchedules(Entity):
    compute_start_stop: list[ComputeStartStopSchedule] | None = None


class ScriptReference(Entity):
    # A script in the workspace file share (or inline with `command`).
    path: str | None = None
    command: str | None = None
    timeout_minutes: int | None = None


class SetupScripts(Entity):
    creation_script: ScriptReference | None = None
    startup_script: ScriptReference | None = None


class AssignedUserConfiguration(Entity):
    """The user a compute instance is created for (`create_on_behalf_of`)."""

    user_tenant_id: str | None = None
    user_object_id: str | None = None


class ImageSettings(Entity):
    reference: str | None = None


class EndpointsSettings(Entity):
    target: int | None = None
    published: int | None = None


class VolumeSettings(Entity):
    source: str | None = None
    target: str | None = None


class CustomApplication(Entity):
    """A Docker application a compute instance runs beside Jupyter (RStudio, ...)."""

    name: str
    type: Annotated[Literal["docker"], LowerCase] = "docker"
    image: ImageSettings | None = None
    endpoints: list[EndpointsSettings] | None = None
    environment_variables: dict[str, Any] | None = None
    bind_mounts: list[VolumeSettings] | None = None


class ImageMetadata(Entity):
    # Set by the service.
    is_latest_os_image_version: bool | None = None
    current_image_version: str | None = None
    latest_image_version: str | None = None


class ComputeInstance(ComputeBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/computeInstance.schema.json"
    type: Annotated[Literal["computeinstance"], LowerCase] = "computeinstance"
    size: str | None = None
    ssh_public_access_enabled: bool | None = None
    ssh_settings: SshSettings | None = None
    network_settings: NetworkSettings | None = None
    create_on_behalf_of: AssignedUserConfiguration | None = None
    # An ISO 8601 duration (`PT30M`); Azure also takes the minutes below.
    idle_time_before_shutdown: str | None = None
    idle_time_before_shutdown_minutes: int | None = None
    schedules: ComputeSchedules | None = None
    setup_scripts: SetupScripts | None = None
    custom_applications: list[CustomApplication] | None = None
    enable_node_public_ip: bool | None = None
    enable_sso: bool | None = None
    enable_root_access: bool | None = None
    release_quota_on_stop: bool | None = None
    enable_os_patching: bool | None = None
    # Set by the service in a dumped spec; accepted back and ignored.
    state: str | None = None
    last_operation: dict[str, str] | None = None
    services: list[dict[str, str]] | None = None
    os_image_metadata: ImageMetadata | None = None


class KubernetesCompute(ComputeBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/kubernetesCompute.schema.json"
    type: Annotated[Literal["kubernetes"], LowerCase] = "kubernetes"
    namespace: str = "default"
    # Azure's attach properties nest (`instanceTypes: {...}`), so no string-only values.
    properties: dict[str, Any] = Field(default_factory=dict)

    # Replaces Resource's validator, which would flatten nested `properties`.
    _stringify_values = field_validator("tags", mode="before")(string_values)


class VirtualMachineCompute(ComputeBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/vmCompute.schema.json"
    type: Annotated[Literal["virtualmachine"], LowerCase] = "virtualmachine"
    ssh_settings: SshSettings | None = None
    # Set by the service.
    compute_location: str | None = None


class AutoScaleSettings(Entity):
    min_node_count: int | None = None
    max_node_count: int | None = None
    auto_scale_enabled: bool | None = None


class AutoPauseSettings(Entity):
    delay_in_minutes: int | None = None
    auto_pause_enabled: bool | None = None


class SynapseSparkCompute(ComputeBase):
    type: Annotated[Literal["synapsespark"], LowerCase] = "synapsespark"
    scale_settings: AutoScaleSettings | None = None
    auto_pause_settings: AutoPauseSettings | None = None
    # Read from the attached Spark pool by the service.
    node_family: str | None = None
    node_size: str | None = None
    node_count: int | None = None
    spark_version: str | None = None


class RayCompute(ComputeBase):
    """An attached Ray cluster, reached at `address` (``ray://host:10001`` or ``auto``)."""

    type: Literal["ray"] = "ray"
    address: str = "auto"


def _compute_kind(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    cls = COMPUTE_TYPES.get(kind.lower()) if isinstance(kind, str) else None
    return cls.__name__ if cls else None


# Tagged by class name, found from the lower-cased `type` (`AmlCompute` is `amlcompute`).
Compute = Annotated[
    Annotated[LocalCompute, Tag("LocalCompute")]
    | Annotated[AmlCompute, Tag("AmlCompute")]
    | Annotated[ComputeInstance, Tag("ComputeInstance")]
    | Annotated[KubernetesCompute, Tag("KubernetesCompute")]
    | Annotated[VirtualMachineCompute, Tag("VirtualMachineCompute")]
    | Annotated[SynapseSparkCompute, Tag("SynapseSparkCompute")]
    | Annotated[RayCompute, Tag("RayCompute")],
    Discriminator(_compute_kind),
]
COMPUTE_TYPES: dict[str, type[ComputeBase]] = {
    "local": LocalCompute,
    "amlcompute": AmlCompute,
    "cluster": AmlCompute,
    "computeinstance": ComputeInstance,
    "kubernetes": KubernetesCompute,
    "virtualmachine": VirtualMachineCompute,
    "synapsespark": SynapseSparkCompute,
    "ray": RayCompute,
}
compute_adapter: TypeAdapter[Compute] = TypeAdapter(Compute)
