"""MLClient: the one entry point, shaped like azure.ai.ml.MLClient."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

from orchard.config import Settings, find_home
from orchard.errors import NotFound
from orchard.sdk.operations.assets import DataOperations, EnvironmentOperations, ModelOperations
from orchard.sdk.operations.batch_endpoints import (
    BatchDeploymentOperations,
    BatchEndpointOperations,
)
from orchard.sdk.operations.components import ComponentOperations
from orchard.sdk.operations.endpoints import OnlineDeploymentOperations, OnlineEndpointOperations
from orchard.sdk.operations.jobs import JobOperations
from orchard.sdk.operations.resources import (
    ComputeOperations,
    DatastoreOperations,
    WorkspaceOperations,
)
from orchard.sdk.operations.schedules import ScheduleOperations
from orchard.sdk.transport import EmbeddedTransport, Transport

AZURE_CONFIG_NAMES = ("config.json", ".azureml/config.json")


class MLClient:
    """Work with one workspace. Azure's positional arguments are accepted and ignored
    where they name cloud things Orchard has no need of (subscription, resource group).
    """

    def __init__(
        self,
        credential: Any = None,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        *,
        home: str | Path | None = None,
        database_url: str | None = None,
        transport: Transport | None = None,
        create_workspace: bool = True,
        **_: Any,
    ) -> None:
        self.credential = credential
        self.subscription_id = subscription_id
        self.resource_group_name = resource_group_name
        self.settings = Settings.discover(
            home=Path(home) if home else None,
            workspace=workspace_name,
            database_url=database_url,
        )
        self._transport: Transport = transport or EmbeddedTransport.open(self.settings)
        self.workspace_name = self.settings.workspace
        if create_workspace:
            self._transport.workspaces.ensure(self.workspace_name)
        current = self._current_workspace
        self.workspaces = WorkspaceOperations(self._transport, current)
        self.datastores = DatastoreOperations(self._transport, current)
        self.data = DataOperations(self._transport, current)
        self.models = ModelOperations(self._transport, current)
        self.environments = EnvironmentOperations(self._transport, current)
        self.compute = ComputeOperations(self._transport, current)
        self.components = ComponentOperations(self._transport, current)
        self.jobs = JobOperations(self._transport, current)
        self.schedules = ScheduleOperations(self._transport, current)
        self.online_endpoints = OnlineEndpointOperations(self._transport, current)
        self.online_deployments = OnlineDeploymentOperations(self._transport, current)
        self.batch_endpoints = BatchEndpointOperations(self._transport, current, self.jobs)
        self.batch_deployments = BatchDeploymentOperations(
            self._transport, current, self.jobs, self.components
        )

    @classmethod
    def from_config(
        cls,
        credential: Any = None,
        *,
        path: str | Path | None = None,
        file_name: str | None = None,
        **kwargs: Any,
    ) -> MLClient:
        """Find the workspace like azure's `from_config`: an Azure `config.json` (its
        `workspace_name`) from `path` or the current folder upwards, else `.orchard/`."""
        start = Path(path) if path else Path.cwd()
        config = _find_azure_config(start, file_name)
        if config is not None:
            body = json.loads(config.read_text(encoding="utf-8"))
            kwargs.setdefault("workspace_name", body.get("workspace_name"))
            kwargs.setdefault("subscription_id", body.get("subscription_id"))
            kwargs.setdefault("resource_group_name", body.get("resource_group"))
        elif path is not None and file_name is not None:
            raise NotFound(f"no {file_name} found at {path} or above")
        kwargs.setdefault("home", find_home(start.parent if start.is_file() else start))
        return cls(credential, **kwargs)

    def _current_workspace(self) -> str:
        return self.workspace_name

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> MLClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MLClient(workspace_name={self.workspace_name!r}, home={str(self.settings.home)!r})"


def _find_azure_config(start: Path, file_name: str | None) -> Path | None:
    folder = start if start.is_dir() else start.parent
    names = (file_name,) if file_name else AZURE_CONFIG_NAMES
    if start.is_file():
        return start
    for directory in (folder.resolve(), *folder.resolve().parents):
        for name in names:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None
