"""The services facade: one object per store that both transports call."""

from __future__ import annotations

from pathlib import Path

from orchard.config import Settings
from orchard.services.assets import AssetService
from orchard.services.batch_endpoints import BatchDeploymentService, BatchEndpointService
from orchard.services.compute import ComputeService
from orchard.services.context import Context
from orchard.services.data import check_asset_path, link_job
from orchard.services.datastores import DatastoreService
from orchard.services.endpoints import OnlineDeploymentService, OnlineEndpointService
from orchard.services.files import FileService
from orchard.services.jobs import JobService, Resolver
from orchard.services.lineage import LineageService
from orchard.services.pipelines.plan import Planner
from orchard.services.pipelines.reuse import StepReuse
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
from orchard.store import Store


class Services:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.workspaces = WorkspaceService(context)
        self.secrets = SecretService(context)
        self.datastores = DatastoreService(context, self.secrets)
        self.files = FileService(context, self.datastores)
        self.compute = ComputeService(context)
        self.data = AssetService(context, "data", check_asset_path)
        self.models = AssetService(context, "model", check_asset_path, link_job)
        self.environments = AssetService(context, "environment")
        self.components = AssetService(context, "component")
        self.tables = TableService(self.files)
        self.experiments = ExperimentService(context)
        self.runs = RunService(context, self.experiments)
        self.experiment_search = ExperimentSearch(self.experiments)
        self.metric_history = MetricHistoryService(self.runs)
        self.logged_models = LoggedModelService(context, self.experiments, self.runs)
        self.model_versions = ModelVersionService(context, self.runs)
        self.registry = RegistryService(context, self.model_versions)
        self.artifacts = ArtifactService(self.datastores, self.runs)
        resolver = Resolver(
            self.data, self.models, self.environments, self.compute, self.datastores
        )
        self.jobs = JobService(
            context, self.experiments, self.runs, resolver, Planner(self.components)
        )
        self.pipelines = PipelineViews(self.jobs)
        self.schedules = ScheduleService(context, self.jobs)
        self.step_reuse = StepReuse(context, resolver, self.datastores, self.runs)
        self.lineage = LineageService(context)
        self.online_endpoints = OnlineEndpointService(context, self.secrets)
        self.online_deployments = OnlineDeploymentService(
            context, self.online_endpoints, self.models, self.environments
        )
        self.batch_endpoints = BatchEndpointService(context)
        self.batch_deployments = BatchDeploymentService(
            context,
            self.batch_endpoints,
            {
                "model": self.models,
                "environment": self.environments,
                "component": self.components,
                "data": self.data,
            },
            self.jobs,
        )

    @classmethod
    def open(
        cls, settings: Settings, *, storage_root: Path | None = None, migrate: bool = True
    ) -> Services:
        """`migrate=False` where the store is known current (a job's runner: its job was
        submitted through it), saving the schema check."""
        store = Store(settings.database_url, migrate=migrate)
        return cls(Context(store=store, home=settings.home, storage_root=storage_root))

    def close(self) -> None:
        self.context.store.close()
