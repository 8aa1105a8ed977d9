"""`ml_client.batch_endpoints` and `ml_client.batch_deployments`, as azure.ai.ml has them.

`batch_endpoints.invoke(...)` submits the scoring job and returns it at once; follow it
with `ml_client.jobs.stream(job.name)` and fetch its `score` output with
`ml_client.jobs.download(job.name, output_name="score")`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from orchard.entities.batch_endpoints import (
    SCORE_OUTPUT,
    BatchDeploymentBase,
    BatchEndpoint,
    ModelBatchDeployment,
    PipelineComponentBatchDeployment,
)
from orchard.entities.components import PipelineComponent
from orchard.entities.job_types import Job
from orchard.entities.jobs import Input, InputValue, Output
from orchard.sdk.operations.components import ComponentOperations
from orchard.sdk.operations.endpoints import Poller, upload_deployment_files
from orchard.sdk.operations.jobs import JobOperations
from orchard.sdk.transport import Transport
from orchard.services.batch_endpoints import BATCH_PROPERTY, DATA_INPUT, DEPLOYMENT_PROPERTY
from orchard.storage.uris import is_local_path


class BatchEndpointOperations:
    def __init__(
        self, transport: Transport, workspace: Callable[[], str], jobs: JobOperations
    ) -> None:
        self._transport = transport
        self._workspace = workspace
        self._jobs = jobs

    def begin_create_or_update(self, endpoint: BatchEndpoint, **_: Any) -> Poller[BatchEndpoint]:
        stored = self._transport.batch_endpoints.create_or_update(self._workspace(), endpoint)
        return Poller(lambda: stored)

    def get(self, name: str) -> BatchEndpoint:
        return self._transport.batch_endpoints.get(self._workspace(), name)

    def list(self) -> list[BatchEndpoint]:
        return self._transport.batch_endpoints.list(self._workspace())

    def begin_delete(self, name: str, **_: Any) -> Poller[None]:
        self._transport.batch_endpoints.delete(self._workspace(), name)
        return Poller(lambda: None)

    def invoke(
        self,
        endpoint_name: str,
        *,
        deployment_name: str | None = None,
        input: Input | str | None = None,
        inputs: Mapping[str, InputValue] | None = None,
        outputs: Mapping[str, Output] | None = None,
        output_path: str | None = None,
        experiment_name: str | None = None,
        job_name: str | None = None,
        **settings: Any,
    ) -> Job:
        """Start a scoring job over `input` (a data asset, a local file or folder, a
        datastore URI) or `inputs` (a pipeline deployment's); the submitted job.
        `settings` (mini_batch_size, instance_count, output_file_name, ...) apply to this
        run only; `output_path` says where the `score` output goes."""
        given: dict[str, InputValue] = dict(inputs or {})
        if input is not None:
            given[DATA_INPUT] = scored_input(input)
        wanted = dict(outputs or {})
        if output_path:
            wanted[SCORE_OUTPUT] = Output(type="uri_folder", path=output_path)
        job = self._transport.batch_deployments.scoring_job(
            self._workspace(),
            endpoint_name,
            deployment_name=deployment_name,
            inputs=given,
            outputs=wanted,
            overrides={k: v for k, v in settings.items() if v is not None},
        )
        job.name = job_name
        return self._jobs.create_or_update(job, experiment_name=experiment_name)

    def list_jobs(self, endpoint_name: str) -> builtins.list[Job]:
        """The jobs invokes of this endpoint started, newest first."""
        self.get(endpoint_name)
        return jobs_of(self._jobs, endpoint_name)


class BatchDeploymentOperations:
    def __init__(
        self,
        transport: Transport,
        workspace: Callable[[], str],
        jobs: JobOperations,
        components: ComponentOperations,
    ) -> None:
        self._transport = transport
        self._workspace = workspace
        self._jobs = jobs
        self._components = components

    def begin_create_or_update(
        self, deployment: BatchDeploymentBase, *, set_default: bool = False, **_: Any
    ) -> Poller[BatchDeploymentBase]:
        """Upload a local model and scoring code (or register a local pipeline
        component), then record the deployment."""
        prepared = self._uploaded(deployment)
        stored = self._transport.batch_deployments.create_or_update(
            self._workspace(), prepared, set_default=set_default
        )
        return Poller(lambda: stored)

    def get(self, name: str, endpoint_name: str) -> BatchDeploymentBase:
        return self._transport.batch_deployments.get(self._workspace(), endpoint_name, name)

    def list(self, endpoint_name: str) -> list[BatchDeploymentBase]:
        return self._transport.batch_deployments.list(self._workspace(), endpoint_name)

    def begin_delete(self, name: str, endpoint_name: str, **_: Any) -> Poller[None]:
        self._transport.batch_deployments.delete(self._workspace(), endpoint_name, name)
        return Poller(lambda: None)

    def list_jobs(self, endpoint_name: str, name: str) -> builtins.list[Job]:
        """The jobs this deployment ran, newest first."""
        self.get(name, endpoint_name)
        return jobs_of(self._jobs, endpoint_name, name)

    def _uploaded(self, deployment: BatchDeploymentBase) -> BatchDeploymentBase:
        prepared = deployment.model_copy(deep=True)
        if isinstance(prepared, PipelineComponentBatchDeployment):
            component = prepared.component
            if isinstance(component, PipelineComponent):
                registered = self._components.create_or_update(component)
                prepared.component = f"azureml:{registered.name}:{registered.version}"
            return prepared
        assert isinstance(prepared, ModelBatchDeployment)
        upload_deployment_files(self._transport, self._workspace(), prepared)
        return prepared


def jobs_of(jobs: JobOperations, endpoint: str, deployment: str | None = None) -> list[Job]:
    """The jobs that invokes of the endpoint (and deployment) started, by their properties."""
    return [
        job
        for job in jobs.list()
        if job.properties.get(BATCH_PROPERTY) == endpoint
        and (deployment is None or job.properties.get(DEPLOYMENT_PROPERTY) == deployment)
    ]


def scored_input(value: Input | str, input_type: str | None = None) -> Input:
    """What an invoke scores: a local file is a uri_file, anything else a uri_folder unless
    `input_type` says otherwise; a data asset's own type wins when the job is built."""
    if isinstance(value, Input):
        return value
    if input_type is None:
        local = is_local_path(value) and Path(value).expanduser().is_file()
        input_type = "uri_file" if local else "uri_folder"
    return Input.model_validate({"type": input_type, "path": value})
