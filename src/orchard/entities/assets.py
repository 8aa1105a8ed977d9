"""Versioned asset shapes: data, model, environment (Azure ML v2 schemas)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from orchard.entities.base import Asset, Entity

SCHEMA_ROOT = "https://azuremlschemas.azureedge.net/latest"


# Azure's casing rules for enum-valued fields, shared by every entity module. Azure
# compares an enum value after a transform: most lower-case it, the ones its REST API
# spells in PascalCase (`SystemAssigned`, `AllowOnlyApprovedOutbound`) turn it to
# snake_case, and comma-separated values (`SystemAssigned, UserAssigned`) go part by part.
def snake_case(value: Any) -> Any:
    """`SystemAssigned`, `system_assigned` and `SYSTEM_ASSIGNED` all become `system_assigned`."""
    if not isinstance(value, str):
        return value
    return ",".join(_snake_word(part.strip()) for part in value.split(","))


def lower_case(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def timestamp_text(value: Any) -> Any:
    # YAML reads an unquoted `2021-03-10T21:21:07` as a datetime; Azure keeps the text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def type_tag(value: Any) -> str | None:
    """The snake_case `type` of a dict or entity: the tag of a union discriminated by type."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return snake_case(kind) if isinstance(kind, str) else None


def _snake_word(text: str) -> str:
    text = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", text)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()


SnakeCase = BeforeValidator(snake_case)
LowerCase = BeforeValidator(lower_case)
TimestampText = BeforeValidator(timestamp_text)


class AssetTypes:
    """The `type` values of data and model assets, named as azure.ai.ml names them."""

    URI_FILE = "uri_file"
    URI_FOLDER = "uri_folder"
    MLTABLE = "mltable"
    CUSTOM_MODEL = "custom_model"
    MLFLOW_MODEL = "mlflow_model"
    TRITON_MODEL = "triton_model"


# Data's type is checked as written (Azure's OneOf); model's is compared lower-cased.
DataType = Literal["uri_file", "uri_folder", "mltable"]
ModelType = Literal["custom_model", "mlflow_model", "triton_model"]
OsType = Literal["linux", "windows"]


class AutoDeleteSetting(Entity):
    """When Azure may delete an unused asset version (experimental in Azure)."""

    condition: Annotated[
        Literal["created_greater_than", "last_accessed_greater_than"] | None, SnakeCase
    ] = None
    # A duration or date, as Azure takes it (e.g. "30d" or "2025-01-01").
    value: Annotated[str | None, TimestampText] = None


class IntellectualProperty(Entity):
    """Who published a registry asset and whether its content is hidden from users."""

    publisher: str | None = None
    protection_level: Annotated[Literal["all", "none"] | None, SnakeCase] = None


class DeploymentTemplateReference(Entity):
    # azureml://registries/<registry>/deploymenttemplates/<name>/versions/<version>
    asset_id: str | None = None


class Data(Asset):
    kind: ClassVar[str] = "data"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/data.schema.json"
    local_path_fields: ClassVar[tuple[str, ...]] = ("path",)

    type: DataType = "uri_folder"
    path: str
    datastore: str | None = None
    auto_delete_setting: AutoDeleteSetting | None = None
    # Set by the service in a dumped spec; accepted back and ignored.
    latest_version: str | None = None


class Model(Asset):
    kind: ClassVar[str] = "model"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/model.schema.json"
    local_path_fields: ClassVar[tuple[str, ...]] = ("path",)

    type: Annotated[ModelType, LowerCase] = "custom_model"
    path: str | None = None
    flavors: dict[str, dict[str, Any]] | None = None
    job_name: str | None = None
    datastore: str | None = None
    utc_time_created: Annotated[str | None, TimestampText] = None
    intellectual_property: IntellectualProperty | None = None
    system_metadata: dict[str, Any] | None = None
    default_deployment_template: DeploymentTemplateReference | None = None
    allowed_deployment_templates: list[DeploymentTemplateReference] | None = None
    latest_version: str | None = None


class BuildContext(Entity):
    # A local folder (relative to the spec) or an http(s) URL of a build context.
    path: str
    dockerfile_path: str = "Dockerfile"


class Route(Entity):
    port: int
    path: str


class InferenceConfig(Entity):
    liveness_route: Route | None = None
    readiness_route: Route | None = None
    scoring_route: Route | None = None


class Environment(Asset):
    kind: ClassVar[str] = "environment"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/environment.schema.json"
    local_path_fields: ClassVar[tuple[str, ...]] = ("conda_file",)

    image: str | None = None
    # A path in a spec; the loader reads the file so the asset holds its content.
    conda_file: str | dict[str, Any] | None = None
    build: BuildContext | None = None
    os_type: Annotated[OsType | None, LowerCase] = None
    inference_config: InferenceConfig | None = None
    datastore: str | None = None
    intellectual_property: IntellectualProperty | None = None
    auto_delete_setting: AutoDeleteSetting | None = None
    latest_version: str | None = None
    # Orchard extension: a pip requirements file's lines, for environments without conda.
    pip_requirements: list[str] | None = Field(default=None)


VERSIONED_KINDS: dict[str, type[Asset]] = {
    "data": Data,
    "model": Model,
    "environment": Environment,
}
