"""The MLflow model registry's shapes (registered models, model versions) and MLflow 3's
logged models, laid out as MLflow's REST API lays them out.

A registered model is Orchard's model name (an asset container of kind "model"); a model
version is an Orchard model version. These shapes are how the MLflow routes show them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from orchard.entities.base import Entity
from orchard.entities.tracking import Metric, Param, Tag

ModelVersionStatus = Literal["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"]
LoggedModelStatus = Literal[
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
]
# MLflow's stages, in the spelling it answers with whatever case a client sends.
STAGES = ("None", "Staging", "Production", "Archived")


class RegisteredModelAlias(Entity):
    alias: str
    version: str


class ModelVersion(Entity):
    name: str
    version: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    user_id: str | None = None
    current_stage: str = "None"
    description: str = ""
    source: str = ""
    run_id: str = ""
    status: ModelVersionStatus = "READY"
    status_message: str | None = None
    tags: list[Tag] = Field(default_factory=list)
    run_link: str | None = None
    aliases: list[str] = Field(default_factory=list)
    model_id: str | None = None


class RegisteredModel(Entity):
    name: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    user_id: str | None = None
    description: str = ""
    latest_versions: list[ModelVersion] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    aliases: list[RegisteredModelAlias] = Field(default_factory=list)


class LoggedModelInfo(Entity):
    model_id: str
    experiment_id: str
    name: str
    creation_timestamp_ms: int | None = None
    last_updated_timestamp_ms: int | None = None
    artifact_uri: str
    status: LoggedModelStatus = "LOGGED_MODEL_PENDING"
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: list[Tag] = Field(default_factory=list)


class LoggedModelData(Entity):
    params: list[Param] = Field(default_factory=list)
    metrics: list[Metric] = Field(default_factory=list)


class LoggedModel(Entity):
    info: LoggedModelInfo
    data: LoggedModelData = Field(default_factory=LoggedModelData)
    deleted: bool = Field(default=False, exclude=True)

    @property
    def tags(self) -> dict[str, str]:
        return {t.key: t.value for t in self.info.tags}

    @property
    def params(self) -> dict[str, str]:
        return {p.key: p.value for p in self.data.params}
