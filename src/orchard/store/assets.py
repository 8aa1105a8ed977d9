"""Versioned assets: containers hand out versions; versions are immutable rows.

Auto-increment versions come from the container row, read under a row lock
(``FOR UPDATE`` on PostgreSQL; SQLite write transactions are already serialised), so
concurrent creates of one name never get the same number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, Text, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchard.entities.base import Asset, CreationContext
from orchard.entities.registry import asset_class
from orchard.errors import Conflict, NotFound
from orchard.store.tables import AssetRow, ContainerRow, WorkspaceRow, utcnow

# Columns kept outside the spec, because they may change after creation.
MUTABLE_COLUMNS = ("description", "tags", "properties", "stage")
_OUTSIDE_SPEC = {"id", "creation_context", "schema_", "archived", "version", *MUTABLE_COLUMNS}


class ListView(StrEnum):
    ACTIVE_ONLY = "active_only"
    ARCHIVED_ONLY = "archived_only"
    ALL = "all"


@dataclass(frozen=True)
class AssetFilter:
    view: ListView = ListView.ACTIVE_ONLY
    tags: Mapping[str, str | None] | None = None  # a None value means "has the tag"


class AssetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, workspace_id: int, asset: Asset, *, created_by: str | None = None) -> Asset:
        """Insert a new version; `asset.version` None means the next integer version."""
        container = self._lock_container(workspace_id, asset.kind, asset.name)
        version = asset.version or str(container.next_version)
        if asset.version is None:
            # Skip numbers a user took explicitly, so auto versions never collide.
            while self._find(container.id, version) is not None:
                container.next_version += 1
                version = str(container.next_version)
        elif self._find(container.id, version) is not None:
            raise Conflict(f"{asset.kind} {asset.name}:{version} already exists")
        if version.isdigit():
            container.next_version = max(container.next_version, int(version) + 1)
        row = AssetRow(
            workspace_id=workspace_id,
            container_id=container.id,
            kind=asset.kind,
            name=asset.name,
            version=version,
            spec=asset.model_dump(mode="json", exclude=_OUTSIDE_SPEC, exclude_none=True),
            description=asset.description,
            tags=dict(asset.tags),
            properties=dict(asset.properties),
            stage=asset.stage,
            archived=False,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        return self._entity(row)

    def get(self, workspace_id: int, kind: str, name: str, version: str) -> Asset:
        row = self.session.scalar(
            self._rows(workspace_id, kind).where(AssetRow.name == name, AssetRow.version == version)
        )
        if row is None:
            raise NotFound(f"{kind} {name}:{version} not found")
        return self._entity(row)

    def latest(self, workspace_id: int, kind: str, name: str) -> Asset:
        """The most recently created version that is not archived."""
        row = self.session.scalar(
            self._rows(workspace_id, kind)
            .where(AssetRow.name == name, AssetRow.archived.is_(False))
            .order_by(AssetRow.id.desc())
            .limit(1)
        )
        if row is None:
            raise NotFound(f"{kind} {name!r} not found (no active version)")
        return self._entity(row)

    def versions(
        self, workspace_id: int, kind: str, name: str, where: AssetFilter = AssetFilter()
    ) -> list[Asset]:
        query = self._rows(workspace_id, kind).where(AssetRow.name == name)
        query = _archived_clause(query, AssetRow.archived, where.view)
        rows = self.session.scalars(query.order_by(AssetRow.id.desc()))
        return [self._entity(row) for row in rows if _tags_match(row.tags, where.tags)]

    def latest_of_each(
        self, workspace_id: int, kind: str, where: AssetFilter = AssetFilter()
    ) -> list[Asset]:
        """One entry per name: its latest version (archived names only when asked)."""
        newest = (
            select(func.max(AssetRow.id))
            .where(AssetRow.workspace_id == workspace_id, AssetRow.kind == kind)
            .group_by(AssetRow.container_id)
        )
        if where.view is not ListView.ARCHIVED_ONLY:
            newest = newest.where(AssetRow.archived.is_(False))
        query = (
            select(AssetRow)
            .join(ContainerRow, ContainerRow.id == AssetRow.container_id)
            .where(AssetRow.id.in_(newest))
        )
        query = _archived_clause(query, ContainerRow.archived, where.view)
        rows = self.session.scalars(query.order_by(AssetRow.name))
        return [self._entity(row) for row in rows if _tags_match(row.tags, where.tags)]

    def made_by(self, workspace_id: int, job_names: Sequence[str]) -> list[Asset]:
        """Model versions (archived ones too) whose `job_name` is one of these jobs, oldest
        first. A LIKE over the spec's text picks the candidates; the spec decides."""
        if not job_names:
            return []
        wanted = set(job_names)
        spec_text = cast(AssetRow.spec, Text)
        mentions = [spec_text.contains(f'"{name}"', autoescape=True) for name in wanted]
        query = self._rows(workspace_id, "model").where(or_(*mentions)).order_by(AssetRow.id)
        rows = self.session.scalars(query)
        return [self._entity(row) for row in rows if row.spec.get("job_name") in wanted]

    def update(
        self, workspace_id: int, kind: str, name: str, version: str, changes: Mapping[str, Any]
    ) -> Asset:
        """Change mutable fields only; the caller has checked which fields these are."""
        row = self._row(workspace_id, kind, name, version)
        for column, value in changes.items():
            if column not in MUTABLE_COLUMNS:
                raise Conflict(f"{kind} {name}:{version}: {column} cannot change after creation")
            setattr(row, column, value)
        row.updated_at = utcnow()
        self.session.flush()
        return self._entity(row)

    def set_archived(
        self, workspace_id: int, kind: str, name: str, version: str | None, archived: bool
    ) -> None:
        if version is not None:
            self._row(workspace_id, kind, name, version).archived = archived
        else:
            container = self._container(workspace_id, kind, name)
            if container is None:
                raise NotFound(f"{kind} {name!r} not found")
            container.archived = archived
        self.session.flush()

    def exists(self, workspace_id: int, kind: str, name: str) -> bool:
        return self._container(workspace_id, kind, name) is not None

    # -- rows ---------------------------------------------------------------------------

    def _rows(self, workspace_id: int, kind: str) -> Select[AssetRow]:
        return select(AssetRow).where(AssetRow.workspace_id == workspace_id, AssetRow.kind == kind)

    def _row(self, workspace_id: int, kind: str, name: str, version: str) -> AssetRow:
        row = self.session.scalar(
            self._rows(workspace_id, kind).where(AssetRow.name == name, AssetRow.version == version)
        )
        if row is None:
            raise NotFound(f"{kind} {name}:{version} not found")
        return row

    def _find(self, container_id: int, version: str) -> AssetRow | None:
        return self.session.scalar(
            select(AssetRow).where(
                AssetRow.container_id == container_id, AssetRow.version == version
            )
        )

    def _container(self, workspace_id: int, kind: str, name: str) -> ContainerRow | None:
        return self.session.scalar(
            select(ContainerRow)
            .where(
                ContainerRow.workspace_id == workspace_id,
                ContainerRow.kind == kind,
                ContainerRow.name == name,
            )
            .with_for_update()
        )

    def _lock_container(self, workspace_id: int, kind: str, name: str) -> ContainerRow:
        container = self._container(workspace_id, kind, name)
        if container is not None:
            return container
        try:
            with self.session.begin_nested():
                container = ContainerRow(
                    workspace_id=workspace_id, kind=kind, name=name, next_version=1, archived=False
                )
                self.session.add(container)
        except IntegrityError:
            # Another transaction created it first; take its row (and its lock).
            container = self._container(workspace_id, kind, name)
            assert container is not None
        return container

    def _entity(self, row: AssetRow) -> Asset:
        cls = asset_class(row.kind, row.spec.get("type"))
        workspace = self.session.get(WorkspaceRow, row.workspace_id)
        asset = cls.model_validate(
            {
                **row.spec,
                "name": row.name,
                "version": row.version,
                "description": row.description,
                "tags": row.tags,
                "properties": row.properties,
                "stage": row.stage,
                "archived": row.archived,
            }
        )
        segment = "data" if row.kind == "data" else f"{row.kind}s"
        ws_name = workspace.name if workspace else row.workspace_id
        asset.id = f"/workspaces/{ws_name}/{segment}/{row.name}/versions/{row.version}"
        asset.creation_context = CreationContext(
            created_at=row.created_at, created_by=row.created_by, last_modified_at=row.updated_at
        )
        return asset


def _archived_clause(query: Select[AssetRow], column: Any, view: ListView) -> Any:
    if view is ListView.ACTIVE_ONLY:
        return query.where(column.is_(False))
    if view is ListView.ARCHIVED_ONLY:
        return query.where(column.is_(True))
    return query


def _tags_match(tags: Mapping[str, Any], wanted: Mapping[str, str | None] | None) -> bool:
    if not wanted:
        return True
    return all(
        key in tags and (value is None or str(tags[key]) == value) for key, value in wanted.items()
    )
