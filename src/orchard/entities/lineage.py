"""Lineage: what a model version was made from, and what a data version was used for.

A model version links to the job that produced it; the job links to its code snapshot,
its environment, its parameters and the data asset versions its inputs resolved to when
it was submitted. Versions are immutable, so a `name:version` here names exactly the
files the job saw.
"""

from __future__ import annotations

from pydantic import Field

from orchard.entities.assets import Data, Model
from orchard.entities.base import Entity


class JobInputLineage(Entity):
    """One input of a job, as it was bound at submit."""

    type: str
    value: str | None = None  # a literal's value
    uri: str | None = None  # where a data input's files are
    data: str | None = None  # the data asset version it resolved to, `name:version`


class JobLineage(Entity):
    """The job behind a model version, with what it ran and read."""

    name: str
    display_name: str | None = None
    type: str
    status: str
    experiment: str | None = None
    code: str | None = None  # the code snapshot's URI; None: the job had no code folder
    environment: str | None = None  # `name:version`; None: the interpreter Orchard runs in
    inputs: dict[str, JobInputLineage] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)  # what the job logged (MLflow)

    @property
    def data_assets(self) -> list[str]:
        """The data asset versions the job read, `name:version`, each once."""
        return list(dict.fromkeys(i.data for i in self.inputs.values() if i.data))


class ModelLineage(Entity):
    model: Model
    # None when the version names no job (uploaded from a local folder) or the job is gone.
    job: JobLineage | None = None


class DataConsumer(Entity):
    """A job that read a data version, and the model versions it produced."""

    name: str
    status: str
    experiment: str | None = None
    inputs: list[str] = Field(default_factory=list)  # the job's inputs bound to the data
    models: list[str] = Field(default_factory=list)  # `name:version`


class DataUsage(Entity):
    data: Data
    jobs: list[DataConsumer] = Field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return [model for job in self.jobs for model in job.models]
