"""Workspaces and the resources every workspace starts with."""

from __future__ import annotations

import os

from orchard.entities.compute import AmlCompute
from orchard.entities.datastores import LocalDatastore
from orchard.entities.workspace import Workspace
from orchard.errors import Conflict, NotFound
from orchard.services.context import Context
from orchard.store import Transaction

BLOB_STORE = "workspaceblobstore"
ARTIFACT_STORE = "workspaceartifactstore"
STARTER_CLUSTERS = ("cpu-cluster", "gpu-cluster")


class WorkspaceService:
    def __init__(self, context: Context) -> None:
        self.context = context

    def create(self, workspace: Workspace, *, exist_ok: bool = False) -> Workspace:
        with self.context.store.begin() as tx:
            try:
                tx.workspaces.get(workspace.name)
                if exist_ok:
                    return tx.workspaces.get(workspace.name)
                raise Conflict(f"workspace {workspace.name!r} already exists")
            except NotFound:
                pass
            stored = workspace.model_copy(
                update={"storage_root": str(self.context.workspace_files(workspace.name))}
            )
            created = tx.workspaces.create(stored, created_by=self.context.user)
            self._create_default_datastores(tx, workspace.name)
            self._create_default_computes(tx, workspace.name)
        return created

    def ensure(self, name: str) -> Workspace:
        """The workspace called `name`, created on first use (the implicit default)."""
        try:
            return self.get(name)
        except NotFound:
            return self.create(Workspace(name=name), exist_ok=True)

    def get(self, name: str) -> Workspace:
        with self.context.store.read() as tx:
            return tx.workspaces.get(name)

    def list(self) -> list[Workspace]:
        with self.context.store.read() as tx:
            return tx.workspaces.list()

    def update(self, workspace: Workspace) -> Workspace:
        with self.context.store.begin() as tx:
            current = tx.workspaces.get(workspace.name)
            merged = workspace.model_copy(update={"storage_root": current.storage_root})
            return tx.workspaces.update(merged)

    def delete(self, name: str) -> None:
        """Forget the workspace's metadata; its files stay on disk for the user to remove."""
        with self.context.store.begin() as tx:
            tx.workspaces.delete(name)

    def _create_default_computes(self, tx: Transaction, workspace: str) -> None:
        # Azure ML's published specs name these clusters; every workspace starts with
        # them as pools of this machine, so those specs run unchanged.
        workspace_id = tx.workspaces.id_of(workspace)
        for name in STARTER_CLUSTERS:
            cluster = AmlCompute(
                name=name,
                max_instances=os.cpu_count() or 1,
                description="Starter cluster: runs jobs on this machine",
                provisioning_state="Succeeded",
            )
            tx.resources.create(workspace_id, "compute", cluster, created_by=self.context.user)

    def _create_default_datastores(self, tx: Transaction, workspace: str) -> None:
        workspace_id = tx.workspaces.id_of(workspace)
        root = self.context.workspace_files(workspace)
        for name, folder, is_default in (
            (BLOB_STORE, "blobstore", True),
            (ARTIFACT_STORE, "artifactstore", False),
        ):
            (root / folder).mkdir(parents=True, exist_ok=True, mode=0o700)
            store = LocalDatastore(
                name=name,
                path=str(root / folder),
                is_default=is_default,
                description=f"{'Default data' if is_default else 'Artifact'} store of {workspace}",
            )
            tx.resources.create(workspace_id, "datastore", store, created_by=self.context.user)
