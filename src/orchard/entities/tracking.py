"""Tracking shapes, laid out as MLflow's REST API lays them out, so the MLflow routes
serialise them as they are and the SDK reads the same objects."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from orchard.entities.base import Entity

LifecycleStage = Literal["active", "deleted"]
RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]


class Tag(Entity):
    key: str
    value: str = ""


class Param(Entity):
    key: str
    value: str = ""


class Metric(Entity):
    key: str
    value: float
    timestamp: int = 0  # milliseconds since the epoch
    step: int = 0
    run_id: str | None = None
    # MLflow 3: a metric may also describe a logged model, measured on a dataset.
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    @classmethod
    def trusted(
        cls,
        key: str,
        value: float,
        timestamp: int,
        step: int,
        run_id: str | None = None,
        model_id: str | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
    ) -> Metric:
        """A point made without validating it again, from values of the right types that
        were validated where they came from (a request message, the store's typed columns):
        a batch holds a thousand points and a history millions, and validating each costs
        more than storing it. The same object `Metric(...)` makes from the same values."""
        point = cls.__new__(cls)
        fields = {
            "key": key,
            "value": value,
            "timestamp": timestamp,
            "step": step,
            "run_id": run_id,
            "model_id": model_id,
            "dataset_name": dataset_name,
            "dataset_digest": dataset_digest,
        }
        _set(point, "__dict__", fields)
        _set(point, "__pydantic_fields_set__", {k for k, v in fields.items() if v is not None})
        _set(point, "__pydantic_extra__", None)
        _set(point, "__pydantic_private__", None)
        return point


_set = object.__setattr__


class Experiment(Entity):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage = "active"
    last_update_time: int | None = None
    creation_time: int | None = None
    tags: list[Tag] = Field(default_factory=list)


class RunInfo(Entity):
    run_id: str
    run_uuid: str
    run_name: str | None = None
    experiment_id: str
    user_id: str | None = None
    status: RunStatus = "RUNNING"
    start_time: int | None = None
    end_time: int | None = None
    artifact_uri: str
    lifecycle_stage: LifecycleStage = "active"


class RunData(Entity):
    metrics: list[Metric] = Field(default_factory=list)
    params: list[Param] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)


class RunInputs(Entity):
    dataset_inputs: list[dict[str, Any]] = Field(default_factory=list)
    model_inputs: list[dict[str, Any]] = Field(default_factory=list)


class RunOutputs(Entity):
    model_outputs: list[dict[str, Any]] = Field(default_factory=list)


class Run(Entity):
    info: RunInfo
    data: RunData = Field(default_factory=RunData)
    inputs: RunInputs = Field(default_factory=RunInputs)
    outputs: RunOutputs = Field(default_factory=RunOutputs)

    @property
    def params(self) -> dict[str, str]:
        return {p.key: p.value for p in self.data.params}

    @property
    def metrics(self) -> dict[str, float]:
        return {m.key: m.value for m in self.data.metrics}

    @property
    def tags(self) -> dict[str, str]:
        return {t.key: t.value for t in self.data.tags}
