"""`ml_client.workspaces`, `.datastores`, `.compute`: named, unversioned resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from orchard.entities.compute import ComputeBase
from orchard.entities.datastores import DatastoreBase
from orchard.entities.workspace import Workspace
from orchard.errors import NotFound
from orchard.sdk.transport import Transport

T = TypeVar("T")


class Poller(Generic[T]):
    """azure.core's LROPoller shape. Orchard's operations finish before returning."""

    def __init__(self, value: T) -> None:
        self._value = value

    def result(self, timeout: float | None = None) -> T:
        return self._value

    def done(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> None:
        return None

    def status(self) -> str:
        return "Succeeded"


class WorkspaceOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace

    def begin_create(self, workspace: Workspace, **_: object) -> Poller[Workspace]:
        return Poller(self._transport.workspaces.create(workspace))

    def create_or_update(self, workspace: Workspace) -> Workspace:
        try:
            self._transport.workspaces.get(workspace.name)
        except NotFound:
            return self._transport.workspaces.create(workspace)
        return self._transport.workspaces.update(workspace)

    def begin_update(self, workspace: Workspace, **_: object) -> Poller[Workspace]:
        return Poller(self._transport.workspaces.update(workspace))

    def get(self, name: str | None = None) -> Workspace:
        return self._transport.workspaces.get(name or self._workspace())

    def list(self) -> list[Workspace]:
        return self._transport.workspaces.list()

    def begin_delete(self, name: str, **_: object) -> Poller[None]:
        self._transport.workspaces.delete(name)
        return Poller(None)


class DatastoreOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace

    def create_or_update(self, datastore: DatastoreBase) -> DatastoreBase:
        return self._transport.datastores.create_or_update(self._workspace(), datastore)

    def get(self, name: str) -> DatastoreBase:
        return self._transport.datastores.get(self._workspace(), name)

    def list(self) -> list[DatastoreBase]:
        return self._transport.datastores.list(self._workspace())

    def get_default(self) -> DatastoreBase:
        return self._transport.datastores.get_default(self._workspace())

    def set_default(self, name: str) -> DatastoreBase:
        return self._transport.datastores.set_default(self._workspace(), name)

    def delete(self, name: str) -> None:
        self._transport.datastores.delete(self._workspace(), name)


class ComputeOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace

    def begin_create_or_update(self, compute: ComputeBase) -> Poller[ComputeBase]:
        return Poller(self.create_or_update(compute))

    def create_or_update(self, compute: ComputeBase) -> ComputeBase:
        return self._transport.compute.create_or_update(self._workspace(), compute)

    def get(self, name: str) -> ComputeBase:
        return self._transport.compute.get(self._workspace(), name)

    def list(self) -> list[ComputeBase]:
        return self._transport.compute.list(self._workspace())

    def begin_delete(self, name: str) -> Poller[None]:
        self._transport.compute.delete(self._workspace(), name)
        return Poller(None)
