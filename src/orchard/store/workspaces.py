"""Workspace rows <-> Workspace entities."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchard.entities.base import CreationContext
from orchard.entities.workspace import Workspace
from orchard.errors import Conflict, NotFound
from orchard.store.tables import WorkspaceRow, utcnow


class WorkspaceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, workspace: Workspace, *, created_by: str | None = None) -> Workspace:
        if self._find(workspace.name) is not None:
            raise Conflict(f"workspace {workspace.name!r} already exists")
        row = WorkspaceRow(name=workspace.name, spec=_spec(workspace), created_by=created_by)
        self.session.add(row)
        self.session.flush()
        return _entity(row)

    def get(self, name: str) -> Workspace:
        return _entity(self._row(name))

    def id_of(self, name: str) -> int:
        # Every request asks this: one column, no row object, no JSON to decode.
        found = self.session.scalar(select(WorkspaceRow.id).where(WorkspaceRow.name == name))
        if found is None:
            raise NotFound(f"workspace {name!r} not found")
        return found

    def list(self) -> list[Workspace]:
        rows = self.session.scalars(select(WorkspaceRow).order_by(WorkspaceRow.name))
        return [_entity(row) for row in rows]

    def update(self, workspace: Workspace) -> Workspace:
        row = self._row(workspace.name)
        row.spec = _spec(workspace)
        row.updated_at = utcnow()
        self.session.flush()
        return _entity(row)

    def delete(self, name: str) -> None:
        self.session.delete(self._row(name))
        self.session.flush()

    def _find(self, name: str) -> WorkspaceRow | None:
        return self.session.scalar(select(WorkspaceRow).where(WorkspaceRow.name == name))

    def _row(self, name: str) -> WorkspaceRow:
        row = self._find(name)
        if row is None:
            raise NotFound(f"workspace {name!r} not found")
        return row


def _spec(workspace: Workspace) -> dict[str, object]:
    return workspace.model_dump(mode="json", exclude={"id", "creation_context", "schema_"})


def _entity(row: WorkspaceRow) -> Workspace:
    workspace = Workspace.model_validate(row.spec)
    workspace.id = f"/workspaces/{row.name}"
    workspace.creation_context = CreationContext(
        created_at=row.created_at, created_by=row.created_by, last_modified_at=row.updated_at
    )
    return workspace
