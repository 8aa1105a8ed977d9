"""The model registry's own rows: a registered model (an asset container of kind "model")
with its description, tags and aliases.

Versions stay in the asset repository; this one handles what MLflow's registry adds on
top of a model name: the name-level description and tags, aliases, rename and delete.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchard.entities.model_registry import RegisteredModel, RegisteredModelAlias
from orchard.entities.tracking import Tag
from orchard.errors import Conflict, NotFound
from orchard.store.experiments import millis
from orchard.store.tables import AssetRow, ContainerRow, utcnow
from orchard.store.tracking_tables import ModelAliasRow

KIND = "model"


class RegistryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        workspace_id: int,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        if self._find(workspace_id, name) is not None:
            raise Conflict(f"Registered Model (name={name}) already exists.")
        now = utcnow()
        row = ContainerRow(
            workspace_id=workspace_id,
            kind=KIND,
            name=name,
            next_version=1,
            archived=False,
            description=description,
            tags=dict(tags or {}),
            created_at=now,
            updated_at=now,
        )
        try:
            with self.session.begin_nested():  # a concurrent create of the name loses here
                self.session.add(row)
        except IntegrityError:
            raise Conflict(f"Registered Model (name={name}) already exists.") from None
        return self._entity(row)

    def get(self, workspace_id: int, name: str, *, lock: bool = False) -> RegisteredModel:
        return self._entity(self._row(workspace_id, name, lock=lock))

    def exists(self, workspace_id: int, name: str) -> bool:
        return self._find(workspace_id, name) is not None

    def list(self, workspace_id: int) -> list[RegisteredModel]:
        rows = self.session.scalars(
            select(ContainerRow)
            .where(ContainerRow.workspace_id == workspace_id, ContainerRow.kind == KIND)
            .order_by(ContainerRow.name)
        )
        return [self._entity(row) for row in rows]

    def update(
        self,
        workspace_id: int,
        name: str,
        *,
        description: str | None = None,
        set_tags: Mapping[str, str] | None = None,
        delete_tag: str | None = None,
    ) -> RegisteredModel:
        row = self._row(workspace_id, name, lock=True)
        if description is not None:
            row.description = description
        tags = dict(row.tags or {})
        tags.update(set_tags or {})
        if delete_tag is not None:
            tags.pop(delete_tag, None)
        row.tags = tags
        row.updated_at = utcnow()
        self.session.flush()
        return self._entity(row)

    def touch(self, workspace_id: int, name: str) -> None:
        self._row(workspace_id, name).updated_at = utcnow()

    def rename(self, workspace_id: int, name: str, new_name: str) -> None:
        """A new name for the model and every one of its versions, in this transaction."""
        row = self._row(workspace_id, name, lock=True)
        if new_name != name and self._find(workspace_id, new_name) is not None:
            raise Conflict(f"Registered Model (name={new_name}) already exists.")
        try:
            with self.session.begin_nested():
                row.name, row.updated_at = new_name, utcnow()
                self.session.execute(
                    update(AssetRow).where(AssetRow.container_id == row.id).values(name=new_name)
                )
        except IntegrityError:
            raise Conflict(f"Registered Model (name={new_name}) already exists.") from None

    def delete(self, workspace_id: int, name: str) -> None:
        """The name, its versions and its aliases (the database cascades)."""
        row = self._row(workspace_id, name, lock=True)
        self.session.execute(delete(ModelAliasRow).where(ModelAliasRow.container_id == row.id))
        self.session.execute(delete(AssetRow).where(AssetRow.container_id == row.id))
        self.session.delete(row)
        self.session.flush()

    # -- aliases -------------------------------------------------------------------------

    def aliases(self, workspace_id: int, name: str) -> dict[str, str]:
        """alias -> version, for one registered model."""
        row = self._row(workspace_id, name)
        return self._aliases(row.id)

    def set_alias(self, workspace_id: int, name: str, alias: str, version: str) -> None:
        row = self._row(workspace_id, name, lock=True)
        self.session.merge(ModelAliasRow(container_id=row.id, alias=alias, version=version))
        row.updated_at = utcnow()
        self.session.flush()

    def delete_alias(self, workspace_id: int, name: str, alias: str) -> None:
        row = self._row(workspace_id, name, lock=True)
        self.session.execute(
            delete(ModelAliasRow).where(
                ModelAliasRow.container_id == row.id, ModelAliasRow.alias == alias
            )
        )
        row.updated_at = utcnow()

    def delete_version_aliases(self, workspace_id: int, name: str, version: str) -> None:
        row = self._row(workspace_id, name)
        self.session.execute(
            delete(ModelAliasRow).where(
                ModelAliasRow.container_id == row.id, ModelAliasRow.version == version
            )
        )

    # -- rows ----------------------------------------------------------------------------

    def _find(self, workspace_id: int, name: str, *, lock: bool = False) -> ContainerRow | None:
        query = select(ContainerRow).where(
            ContainerRow.workspace_id == workspace_id,
            ContainerRow.kind == KIND,
            ContainerRow.name == name,
        )
        return self.session.scalar(query.with_for_update() if lock else query)

    def _row(self, workspace_id: int, name: str, *, lock: bool = False) -> ContainerRow:
        row = self._find(workspace_id, name, lock=lock)
        if row is None:
            raise NotFound(f"Registered Model with name={name} not found")
        return row

    def _aliases(self, container_id: int) -> dict[str, str]:
        rows = self.session.scalars(
            select(ModelAliasRow)
            .where(ModelAliasRow.container_id == container_id)
            .order_by(ModelAliasRow.alias)
        )
        return {r.alias: r.version for r in rows}

    def _entity(self, row: ContainerRow) -> RegisteredModel:
        return RegisteredModel(
            name=row.name,
            creation_timestamp=millis(row.created_at),
            last_updated_timestamp=millis(row.updated_at or row.created_at),
            description=row.description or "",
            tags=[Tag(key=k, value=str(v)) for k, v in sorted((row.tags or {}).items())],
            aliases=[
                RegisteredModelAlias(alias=alias, version=version)
                for alias, version in self._aliases(row.id).items()
            ],
        )
