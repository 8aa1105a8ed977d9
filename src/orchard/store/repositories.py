"""Repositories: the only code that touches rows; each returns entities."""

from orchard.store.assets import AssetRepository
from orchard.store.experiments import ExperimentRepository
from orchard.store.jobs import JobRepository
from orchard.store.resources import ResourceRepository
from orchard.store.secrets import SecretRepository
from orchard.store.workspaces import WorkspaceRepository

__all__ = [
    "AssetRepository",
    "ExperimentRepository",
    "JobRepository",
    "ResourceRepository",
    "SecretRepository",
    "WorkspaceRepository",
]
