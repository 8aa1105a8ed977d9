"""Named, unversioned resources (datastores, computes) as entities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchard.entities.base import CreationContext, Resource
from orchard.entities.registry import resource_from_spec
from orchard.errors import Conflict, NotFound
from orchard.store.tables import ResourceRow, utcnow

_OUTSIDE_SPEC = {"id", "creation_context", "schema_"}


class ResourceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        workspace_id: int,
        kind: str,
        resource: Resource,
        *,
        created_by: str | None = None,
        key: str | None = None,
    ) -> Resource:
        """Store `resource` under its name, or under `key` where names are unique only
        within a parent (an endpoint's deployments: `endpoint/deployment`)."""
        name = key or resource.name
        if self._find(workspace_id, kind, name) is not None:
            raise Conflict(f"{kind} {name!r} already exists")
        row = ResourceRow(
            workspace_id=workspace_id,
            kind=kind,
            name=name,
            type=str(getattr(resource, "type", kind)),
            spec=_spec(resource),
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        return _entity(row)

    def replace(
        self, workspace_id: int, kind: str, resource: Resource, *, key: str | None = None
    ) -> Resource:
        row = self._row(workspace_id, kind, key or resource.name)
        row.spec = _spec(resource)
        row.type = str(getattr(resource, "type", kind))
        row.updated_at = utcnow()
        self.session.flush()
        return _entity(row)

    def get(self, workspace_id: int, kind: str, name: str) -> Resource:
        return _entity(self._row(workspace_id, kind, name))

    def find(self, workspace_id: int, kind: str, name: str) -> Resource | None:
        row = self._find(workspace_id, kind, name)
        return None if row is None else _entity(row)

    def list(self, workspace_id: int, kind: str) -> list[Resource]:
        rows = self.session.scalars(
            select(ResourceRow)
            .where(ResourceRow.workspace_id == workspace_id, ResourceRow.kind == kind)
            .order_by(ResourceRow.name)
        )
        return [_entity(row) for row in rows]

    def delete(self, workspace_id: int, kind: str, name: str) -> None:
        self.session.delete(self._row(workspace_id, kind, name))
        self.session.flush()

    def _find(self, workspace_id: int, kind: str, name: str) -> ResourceRow | None:
        return self.session.scalar(
            select(ResourceRow).where(
                ResourceRow.workspace_id == workspace_id,
                ResourceRow.kind == kind,
                ResourceRow.name == name,
            )
        )

    def _row(self, workspace_id: int, kind: str, name: str) -> ResourceRow:
        row = self._find(workspace_id, kind, name)
        if row is None:
            raise NotFound(f"{kind} {name!r} not found")
        return row


def _spec(resource: Resource) -> dict[str, Any]:
    # SecretStr fields dump as a mask: the real values live in the secret store.
    return resource.model_dump(mode="json", exclude=_OUTSIDE_SPEC, exclude_none=True)


def _entity(row: ResourceRow) -> Resource:
    resource = resource_from_spec(row.kind, row.spec)
    resource.id = f"/{row.kind}s/{row.name}"
    resource.creation_context = CreationContext(
        created_at=row.created_at, created_by=row.created_by, last_modified_at=row.updated_at
    )
    return resource
