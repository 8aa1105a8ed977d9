"""Batch endpoints and deployments: their records, and the job an invoke starts.

Invoking a model deployment gives a command job that runs `orchard.parallel`'s driver
over the input with the deployment's scoring script (or the built-in MLflow one), the
model bound as an input; invoking a pipeline deployment gives a pipeline job of its
component's steps. Either is an ordinary job: streamed, listed, downloaded as any other.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from orchard.entities.assets import Data, Model
from orchard.entities.batch_endpoints import (
    SCORE_OUTPUT,
    BatchDeploymentBase,
    BatchEndpoint,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
    PipelineComponentBatchDeployment,
    batch_deployment_key,
)
from orchard.entities.components import PipelineComponent
from orchard.entities.endpoints import ANONYMOUS_MODEL
from orchard.entities.job_types import Job
from orchard.entities.jobs import CommandJob, Input, InputValue, JobResources, Output
from orchard.entities.parallel import ParallelSettings, ParallelTask, RetrySettings
from orchard.entities.pipelines import PipelineJob
from orchard.entities.references import is_asset_ref
from orchard.errors import NotFound, ValidationError
from orchard.parallel.command import driver_command
from orchard.services.assets import AssetService
from orchard.services.context import Context
from orchard.services.jobs import JobService
from orchard.services.jobs.resolve import environment_of

ENDPOINT = "batch_endpoint"
DEPLOYMENT = "batch_deployment"
MODEL_INPUT = "model"
DATA_INPUT = "input_data"
SCORABLE_TYPES = ("uri_file", "uri_folder", "mltable")
BATCH_PROPERTY = "azureml.batchEndpoint"
DEPLOYMENT_PROPERTY = "azureml.batchDeployment"


class BatchEndpointService:
    def __init__(self, context: Context) -> None:
        self.context = context

    def create_or_update(self, workspace: str, endpoint: BatchEndpoint) -> BatchEndpoint:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            existing = tx.resources.find(workspace_id, ENDPOINT, endpoint.name)
            if isinstance(existing, BatchEndpoint) and not endpoint.defaults.deployment_name:
                # A spec that names no default keeps the one a deployment was given.
                endpoint = endpoint.model_copy(update={"defaults": existing.defaults})
            default = endpoint.defaults.deployment_name
            if (
                default
                and tx.resources.find(
                    workspace_id, DEPLOYMENT, batch_deployment_key(endpoint.name, default)
                )
                is None
            ):
                raise ValidationError(
                    f"defaults.deployment_name: endpoint {endpoint.name!r} has no deployment "
                    f"named {default!r}"
                )
            ready = endpoint.model_copy(update={"provisioning_state": "Succeeded"})
            if existing is None:
                stored = tx.resources.create(workspace_id, ENDPOINT, ready)
            else:
                stored = tx.resources.replace(workspace_id, ENDPOINT, ready)
        assert isinstance(stored, BatchEndpoint)
        return stored

    def get(self, workspace: str, name: str) -> BatchEndpoint:
        with self.context.store.read() as tx:
            found = tx.resources.find(tx.workspaces.id_of(workspace), ENDPOINT, name)
        if not isinstance(found, BatchEndpoint):
            raise NotFound(f"batch endpoint {name!r} not found")
        return found

    def list(self, workspace: str) -> list[BatchEndpoint]:
        with self.context.store.read() as tx:
            found = tx.resources.list(tx.workspaces.id_of(workspace), ENDPOINT)
        return [e for e in found if isinstance(e, BatchEndpoint)]

    def delete(self, workspace: str, name: str) -> None:
        """The endpoint and its deployments, in one transaction; their jobs stay."""
        self.get(workspace, name)
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            for deployment in _deployments_of(tx.resources.list(workspace_id, DEPLOYMENT), name):
                tx.resources.delete(workspace_id, DEPLOYMENT, deployment.key)
            tx.resources.delete(workspace_id, ENDPOINT, name)


class BatchDeploymentService:
    def __init__(
        self,
        context: Context,
        endpoints: BatchEndpointService,
        assets: dict[str, AssetService],
        jobs: JobService,
    ) -> None:
        self.context = context
        self.endpoints = endpoints
        self.assets = assets  # "model", "environment", "component", "data"
        self.jobs = jobs

    def create_or_update(
        self, workspace: str, deployment: BatchDeploymentBase, *, set_default: bool = False
    ) -> BatchDeploymentBase:
        """Record a deployment once what it names is found; the endpoint's first
        deployment (or any, with `set_default`) becomes its default."""
        endpoint = self.endpoints.get(workspace, deployment.endpoint_name)
        resolved = self._resolved(workspace, deployment)
        resolved.provisioning_state = "Succeeded"
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            key = deployment.key
            if tx.resources.find(workspace_id, DEPLOYMENT, key) is None:
                stored = tx.resources.create(workspace_id, DEPLOYMENT, resolved, key=key)
            else:
                stored = tx.resources.replace(workspace_id, DEPLOYMENT, resolved, key=key)
            if set_default or not endpoint.defaults.deployment_name:
                endpoint.defaults.deployment_name = deployment.name
                tx.resources.replace(workspace_id, ENDPOINT, endpoint)
        assert isinstance(stored, BatchDeploymentBase)
        return stored

    def get(self, workspace: str, endpoint: str, name: str) -> BatchDeploymentBase:
        with self.context.store.read() as tx:
            found = tx.resources.find(
                tx.workspaces.id_of(workspace), DEPLOYMENT, batch_deployment_key(endpoint, name)
            )
        if not isinstance(found, BatchDeploymentBase):
            raise NotFound(f"deployment {name!r} of batch endpoint {endpoint!r} not found")
        return found

    def list(self, workspace: str, endpoint: str) -> list[BatchDeploymentBase]:
        self.endpoints.get(workspace, endpoint)
        with self.context.store.read() as tx:
            found = tx.resources.list(tx.workspaces.id_of(workspace), DEPLOYMENT)
        return _deployments_of(found, endpoint)

    def delete(self, workspace: str, endpoint: str, name: str) -> None:
        """The default deployment cannot go while others remain, as in Azure."""
        current = self.endpoints.get(workspace, endpoint)
        self.get(workspace, endpoint, name)
        others = [d for d in self.list(workspace, endpoint) if d.name != name]
        if current.defaults.deployment_name == name and others:
            raise ValidationError(
                f"deployment {name!r} is the default of batch endpoint {endpoint!r}: make "
                f"another the default first (orchard batch-endpoint update --name {endpoint} "
                "--set defaults.deployment_name=<deployment>)"
            )
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.resources.delete(workspace_id, DEPLOYMENT, batch_deployment_key(endpoint, name))
            if current.defaults.deployment_name == name:
                current.defaults.deployment_name = None
                tx.resources.replace(workspace_id, ENDPOINT, current)

    def scoring_job(
        self,
        workspace: str,
        endpoint_name: str,
        *,
        deployment_name: str | None = None,
        inputs: dict[str, InputValue] | None = None,
        outputs: dict[str, Output] | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> Job:
        """The job an invoke submits: checked, not yet submitted. `overrides` are the
        invoke's `mini_batch_size`, `instance_count`, `output_file_name`, ... for this
        run only."""
        endpoint = self.endpoints.get(workspace, endpoint_name)
        name = deployment_name or endpoint.defaults.deployment_name
        if not name:
            raise ValidationError(
                f"batch endpoint {endpoint_name!r} has no default deployment: name one "
                "(--deployment-name) or create one (orchard batch-deployment create)"
            )
        deployment = self.get(workspace, endpoint_name, name)
        given, wanted = inputs or {}, outputs or {}
        job: Job
        if isinstance(deployment, ModelBatchDeployment):
            job = self._model_job(workspace, deployment, given, wanted, overrides)
        else:
            assert isinstance(deployment, PipelineComponentBatchDeployment)
            job = self._pipeline_job(workspace, deployment, given, wanted)
        job.experiment_name = job.experiment_name or endpoint_name
        job.display_name = job.display_name or f"{endpoint_name}-{name}"
        job.properties.update({BATCH_PROPERTY: endpoint_name, DEPLOYMENT_PROPERTY: name})
        return job

    def _model_job(
        self,
        workspace: str,
        deployment: ModelBatchDeployment,
        inputs: dict[str, InputValue],
        outputs: dict[str, Output],
        overrides: dict[str, Any] | None,
    ) -> CommandJob:
        settings = _overridden(deployment, overrides)
        input_name, data = _one_data_input(deployment, inputs)
        input_type = self._input_type(workspace, input_name, data)
        model = deployment.model
        assert isinstance(model, Model) and model.path  # resolved when it was created
        scoring = deployment.code_configuration
        resources = JobResources(instance_count=settings.instance_count)
        parallel = ParallelSettings(
            input_data=f"${{{{inputs.{input_name}}}}}",
            mini_batch_size=str(settings.mini_batch_size),
            resources=resources,
            max_concurrency_per_instance=settings.max_concurrency_per_instance,
            error_threshold=settings.error_threshold,
            retry_settings=RetrySettings(**settings.retry_settings.model_dump()),
            logging_level=settings.logging_level,
            task=ParallelTask(
                entry_script=scoring.scoring_script if scoring else "-",
                append_row_to=f"${{{{outputs.{SCORE_OUTPUT}}}}}",
            ),
        )
        command = driver_command(
            parallel,
            input_type=input_type,
            output_action=settings.output_action,
            output_file_name=settings.output_file_name,
            model_input=MODEL_INPUT,
            model_folder=PurePosixPath(model.path.rstrip("/")).name,
            mlflow_scorer=scoring is None,
        )
        return CommandJob(
            command=command,
            code=scoring.code if scoring else None,
            environment=deployment.environment,
            environment_variables=settings.environment_variables,
            compute=deployment.compute,
            inputs={input_name: data, MODEL_INPUT: _model_input(model)},
            outputs={SCORE_OUTPUT: outputs.get(SCORE_OUTPUT) or Output(type="uri_folder")},
            resources=resources,
            tags=dict(deployment.tags),
        )

    def _pipeline_job(
        self,
        workspace: str,
        deployment: PipelineComponentBatchDeployment,
        inputs: dict[str, InputValue],
        outputs: dict[str, Output],
    ) -> PipelineJob:
        """The component's steps as a pipeline job, or a copy of the job it was made from,
        with the invoke's inputs and outputs."""
        source = self._pipeline_source(workspace, deployment)
        graph = {
            step: spec.model_dump(mode="json", exclude_none=True, by_alias=True)
            for step, spec in source.jobs.items()
        }
        declared, known_outputs = dict(source.inputs), dict(source.outputs)
        unknown = sorted(set(inputs) - set(declared)) + sorted(set(outputs) - set(known_outputs))
        if unknown:
            raise ValidationError(
                f"batch deployment {deployment.name}: the pipeline has no input or output "
                f"named {', '.join(map(repr, unknown))}; it takes inputs "
                f"{', '.join(declared) or 'none'} and outputs {', '.join(known_outputs) or 'none'}"
            )
        return PipelineJob.model_validate(
            {
                "inputs": {**declared, **inputs},
                "outputs": {**known_outputs, **outputs},
                "jobs": graph,
                "settings": deployment.settings.model_dump(exclude_none=True),
                "tags": dict(deployment.tags),
            }
        )

    def _pipeline_source(
        self, workspace: str, deployment: PipelineComponentBatchDeployment
    ) -> PipelineJob | PipelineComponent:
        """The job or the registered component (both resolved when it was created)."""
        if deployment.job_definition is not None:
            job = self.jobs.get(workspace, deployment.job_definition.removeprefix("azureml:"))
            assert isinstance(job, PipelineJob)
            return job
        assert isinstance(deployment.component, str)
        found = self.assets["component"].resolve(workspace, deployment.component)
        assert isinstance(found, PipelineComponent)
        return found

    def _input_type(self, workspace: str, name: str, data: Input) -> str:
        kind = data.type
        if data.path and is_asset_ref(data.path):
            try:
                asset = self.assets["data"].resolve(workspace, data.path)
            except NotFound as missing:
                raise ValidationError(f"invoke input {name!r}: {missing.message}") from None
            assert isinstance(asset, Data)
            kind = asset.type
        if kind not in SCORABLE_TYPES:
            raise ValidationError(
                f"invoke input {name!r}: a {kind} cannot be scored; give a "
                f"{', '.join(SCORABLE_TYPES)}"
            )
        return kind

    def _resolved(self, workspace: str, deployment: BatchDeploymentBase) -> BatchDeploymentBase:
        what = f"batch deployment {deployment.name}:"
        compute = deployment.compute
        if isinstance(deployment, PipelineComponentBatchDeployment):
            compute = compute or deployment.settings.default_compute
        try:
            self.jobs.resolver.compute_name(workspace, compute)
        except ValidationError as error:
            raise ValidationError(f"{what} {error.message.removeprefix('job ')}") from None
        if isinstance(deployment, ModelBatchDeployment):
            model = self._model(workspace, deployment.model, what)
            if deployment.code_configuration is None and model.type != "mlflow_model":
                raise ValidationError(
                    f"{what} a {model.type} needs a scoring script (code_configuration); "
                    "only an mlflow_model is scored without one"
                )
            environment = environment_of(
                self.assets["environment"], workspace, deployment.environment, what
            )
            return deployment.model_copy(update={"model": model, "environment": environment})
        assert isinstance(deployment, PipelineComponentBatchDeployment)
        if deployment.job_definition is not None:
            name = deployment.job_definition.removeprefix("azureml:")
            try:
                source = self.jobs.get(workspace, name)
            except NotFound:
                raise ValidationError(f"{what} job_definition: no job named {name!r}") from None
            if not isinstance(source, PipelineJob):
                raise ValidationError(f"{what} job_definition: job {name!r} is not a pipeline job")
            return deployment.model_copy()
        reference = deployment.component
        if not isinstance(reference, str) or not is_asset_ref(reference):
            raise ValidationError(
                f"{what} component {reference!r} is not a component reference "
                "(azureml:name:version or azureml:name@latest); the SDK registers a local one"
            )
        try:
            found = self.assets["component"].resolve(workspace, reference)
        except NotFound as missing:
            raise ValidationError(f"{what} {missing.message}") from None
        if not isinstance(found, PipelineComponent):
            raise ValidationError(f"{what} component {reference!r} is not a pipeline component")
        return deployment.model_copy(update={"component": f"azureml:{found.name}:{found.version}"})

    def _model(self, workspace: str, value: str | Model, what: str) -> Model:
        if isinstance(value, Model):
            return value  # inline, its files uploaded by the SDK
        if not is_asset_ref(value):
            raise ValidationError(
                f"{what} model {value!r} is not a model reference "
                "(azureml:name:version or azureml:name@latest)"
            )
        try:
            found = self.assets["model"].resolve(workspace, value)
        except NotFound as missing:
            raise ValidationError(f"{what} {missing.message}") from None
        assert isinstance(found, Model)
        return found


def _overridden(
    deployment: ModelBatchDeployment, overrides: dict[str, Any] | None
) -> ModelBatchDeploymentSettings:
    """The deployment's settings with the invoke's over them; instance_count always set."""
    settings = deployment.settings.model_copy(update={"instance_count": deployment.instance_count})
    if not overrides:
        return settings
    unknown = sorted(set(overrides) - set(ModelBatchDeploymentSettings.model_fields))
    if unknown:
        raise ValidationError(f"invoke: {', '.join(unknown)} cannot be set for one run")
    try:
        return ModelBatchDeploymentSettings.model_validate({**settings.model_dump(), **overrides})
    except PydanticValidationError as error:
        raise ValidationError(f"invoke: {error.errors()[0]['msg']}") from None


def _model_input(model: Model) -> Input:
    """A registered model by reference (so the job's lineage names it); an inline one, which
    the deployment alone knows, by its storage path."""
    registered = model.name != ANONYMOUS_MODEL and model.version
    path = f"azureml:{model.name}:{model.version}" if registered else model.path
    return Input(type=model.type, path=path)


def _one_data_input(
    deployment: ModelBatchDeployment, inputs: dict[str, InputValue]
) -> tuple[str, Input]:
    """Model deployments score one input, whatever it is called."""
    if len(inputs) != 1:
        raise ValidationError(
            f"batch deployment {deployment.name} scores one input; the invoke gave "
            f"{len(inputs)} ({', '.join(inputs) or 'none'}): pass --input <data asset, "
            "folder, file or URI>"
        )
    ((name, value),) = inputs.items()
    if name == MODEL_INPUT:
        raise ValidationError(f"invoke input {name!r}: the name is the model's; use another")
    if not isinstance(value, Input) or value.is_literal or not value.path:
        raise ValidationError(f"invoke input {name!r}: give data (a path or asset), not {value!r}")
    return name, value


def _deployments_of(found: list[Any], endpoint: str) -> list[BatchDeploymentBase]:
    return [d for d in found if isinstance(d, BatchDeploymentBase) and d.endpoint_name == endpoint]
