"""The seam between the SDK and the services.

`EmbeddedTransport` calls the services in this process. The HTTP transport (team
server) offers the same attributes with the same methods, so operations never know
which one they hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from orchard.config import Settings
from orchard.services import Services
from orchard.services.assets import AssetService
from orchard.services.batch_endpoints import BatchDeploymentService, BatchEndpointService
from orchard.services.compute import ComputeService
from orchard.services.datastores import DatastoreService
from orchard.services.endpoints import OnlineDeploymentService, OnlineEndpointService
from orchard.services.files import FileService
from orchard.services.jobs import JobService
from orchard.services.lineage import LineageService
from orchard.services.pipelines.views import PipelineViews
from orchard.services.schedules import ScheduleService
from orchard.services.secrets import SecretService
from orchard.services.tables import TableService
from orchard.services.tracking import ExperimentService, RunService
from orchard.services.tracking.artifacts import ArtifactService
from orchard.services.tracking.experiment_search import ExperimentSearch
from orchard.services.tracking.logged_models import LoggedModelService
from orchard.services.tracking.metric_history import MetricHistoryService
from orchard.services.tracking.model_versions import ModelVersionService
from orchard.services.tracking.registry import RegistryService
from orchard.services.workspaces import WorkspaceService


class Transport(Protocol):
    workspaces: WorkspaceService
    datastores: DatastoreService
    files: FileService
    secrets: SecretService
    compute: ComputeService
    data: AssetService
    models: AssetService
    environments: AssetService
    components: AssetService
    tables: TableService
    experiments: ExperimentService
    runs: RunService
    jobs: JobService
    pipelines: PipelineViews
    schedules: ScheduleService
    lineage: LineageService
    experiment_search: ExperimentSearch
    metric_history: MetricHistoryService
    logged_models: LoggedModelService
    model_versions: ModelVersionService
    registry: RegistryService
    artifacts: ArtifactService
    online_endpoints: OnlineEndpointService
    online_deployments: OnlineDeploymentService
    batch_endpoints: BatchEndpointService
    batch_deployments: BatchDeploymentService

    def launch(self, workspace: str, job: str) -> None:
        """Start running a queued job (embedded: a runner process on this machine)."""

    def reap(self, workspace: str, jobs: list[str]) -> None:
        """Mark Failed the jobs whose runner died."""

    def log_path(self, workspace: str, job: str) -> Path:
        """Where the job's std_log grows while it runs."""

    def serve_endpoint(self, workspace: str, endpoint: str) -> str:
        """Make sure the online endpoint is served; its base URL."""

    def stop_endpoint(self, workspace: str, endpoint: str) -> None: ...

    def deployment_logs(self, workspace: str, endpoint: str, deployment: str, lines: int) -> str:
        """The last lines of each of a deployment's workers' logs."""

    def close(self) -> None: ...


class EmbeddedTransport:
    """The services of a local store (SQLite file or a database URL), in process."""

    kind = "embedded"

    def __init__(self, services: Services) -> None:
        self.services = services
        self.workspaces = services.workspaces
        self.datastores = services.datastores
        self.files = services.files
        self.secrets = services.secrets
        self.compute = services.compute
        self.data = services.data
        self.models = services.models
        self.environments = services.environments
        self.components = services.components
        self.tables = services.tables
        self.experiments = services.experiments
        self.runs = services.runs
        self.jobs = services.jobs
        self.pipelines = services.pipelines
        self.schedules = services.schedules
        self.lineage = services.lineage
        self.experiment_search = services.experiment_search
        self.metric_history = services.metric_history
        self.logged_models = services.logged_models
        self.model_versions = services.model_versions
        self.registry = services.registry
        self.artifacts = services.artifacts
        self.online_endpoints = services.online_endpoints
        self.online_deployments = services.online_deployments
        self.batch_endpoints = services.batch_endpoints
        self.batch_deployments = services.batch_deployments

    @classmethod
    def open(cls, settings: Settings) -> EmbeddedTransport:
        return cls(Services.open(settings))

    def launch(self, workspace: str, job: str) -> None:
        from orchard.agent.launch import start_runner

        start_runner(self.services, workspace, job)

    def reap(self, workspace: str, jobs: list[str]) -> None:
        from orchard.agent.launch import reap_dead_runners

        reap_dead_runners(self.services, workspace, jobs)

    def log_path(self, workspace: str, job: str) -> Path:
        return self.services.context.home / "runs" / job / "user_logs" / "std_log.txt"

    def serve_endpoint(self, workspace: str, endpoint: str) -> str:
        from orchard.serving.launch import ensure_host

        return ensure_host(self.services, workspace, endpoint)

    def stop_endpoint(self, workspace: str, endpoint: str) -> None:
        from orchard.serving.launch import stop_host

        stop_host(self.services, workspace, endpoint)

    def deployment_logs(self, workspace: str, endpoint: str, deployment: str, lines: int) -> str:
        from orchard.serving.launch import deployment_log

        return deployment_log(self.services, workspace, endpoint, deployment, lines)

    def close(self) -> None:
        self.services.close()
