"""Compute targets. Orchard runs jobs on `local`, clusters and attached Ray; other
Azure kinds are recorded so their specs validate."""

from __future__ import annotations

from orchard.entities.compute import AmlCompute, ComputeBase
from orchard.errors import ValidationError
from orchard.services.context import Context

KIND = "compute"


class ComputeService:
    def __init__(self, context: Context) -> None:
        self.context = context

    def create_or_update(self, workspace: str, compute: ComputeBase) -> ComputeBase:
        _check(compute)
        ready = compute.model_copy(update={"provisioning_state": "Succeeded"})
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            if tx.resources.find(workspace_id, KIND, compute.name) is None:
                stored = tx.resources.create(
                    workspace_id, KIND, ready, created_by=self.context.user
                )
            else:
                stored = tx.resources.replace(workspace_id, KIND, ready)
        assert isinstance(stored, ComputeBase)
        return stored

    def get(self, workspace: str, name: str) -> ComputeBase:
        with self.context.store.read() as tx:
            found = tx.resources.get(tx.workspaces.id_of(workspace), KIND, name)
        assert isinstance(found, ComputeBase)
        return found

    def list(self, workspace: str) -> list[ComputeBase]:
        with self.context.store.read() as tx:
            found = tx.resources.list(tx.workspaces.id_of(workspace), KIND)
        return [c for c in found if isinstance(c, ComputeBase)]

    def delete(self, workspace: str, name: str) -> None:
        with self.context.store.begin() as tx:
            tx.resources.delete(tx.workspaces.id_of(workspace), KIND, name)


def _check(compute: ComputeBase) -> None:
    if isinstance(compute, AmlCompute) and compute.min_instances > compute.max_instances:
        raise ValidationError(
            f"compute {compute.name}: min_instances ({compute.min_instances}) is greater "
            f"than max_instances ({compute.max_instances})"
        )
