"""Orchard: a self-hosted machine-learning workspace.

``from orchard import MLClient, load_data`` reads like ``from azure.ai.ml import ...``;
``from orchard import Run, Dataset, Workspace`` like azureml.core's (SDK v1) names.
Names are imported on first use so the CLI starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "MLClient": "orchard.sdk.client",
    "load_data": "orchard.entities.loaders",
    "load_model": "orchard.entities.loaders",
    "load_environment": "orchard.entities.loaders",
    "load_datastore": "orchard.entities.loaders",
    "load_compute": "orchard.entities.loaders",
    "load_workspace": "orchard.entities.loaders",
    "load_job": "orchard.entities.loaders",
    "load_component": "orchard.entities.loaders",
    "load_schedule": "orchard.entities.loaders",
    "load_online_endpoint": "orchard.entities.loaders",
    "load_online_deployment": "orchard.entities.loaders",
    "load_batch_endpoint": "orchard.entities.loaders",
    "load_batch_deployment": "orchard.entities.loaders",
    "dsl": "orchard.sdk.dsl",
    "command": "orchard.sdk.builders",
    "Input": "orchard.entities.jobs",
    "Output": "orchard.entities.jobs",
    "Run": "orchard.run.run",
    "Dataset": "orchard.run.dataset",
    "Workspace": "orchard.run.workspace",
}

if TYPE_CHECKING:
    from orchard.entities.jobs import Input, Output
    from orchard.entities.loaders import (
        load_batch_deployment,
        load_batch_endpoint,
        load_component,
        load_compute,
        load_data,
        load_datastore,
        load_environment,
        load_job,
        load_model,
        load_online_deployment,
        load_online_endpoint,
        load_schedule,
        load_workspace,
    )
    from orchard.run.dataset import Dataset
    from orchard.run.run import Run
    from orchard.run.workspace import Workspace
    from orchard.sdk import dsl
    from orchard.sdk.builders import command
    from orchard.sdk.client import MLClient

__all__ = [
    "Dataset",
    "Input",
    "MLClient",
    "Output",
    "Run",
    "Workspace",
    "command",
    "dsl",
    "load_batch_deployment",
    "load_batch_endpoint",
    "load_component",
    "load_compute",
    "load_data",
    "load_datastore",
    "load_environment",
    "load_job",
    "load_model",
    "load_online_deployment",
    "load_online_endpoint",
    "load_schedule",
    "load_workspace",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchard' has no attribute {name!r}")
    if name == "dsl":  # a module of its own, as in azure.ai.ml
        return import_module(module)
    return getattr(import_module(module), name)
