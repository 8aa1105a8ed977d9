"""Experiments per workspace, numbered as MLflow numbers them ("0" is Default)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orchard.entities.tracking import Experiment, Tag
from orchard.errors import Conflict, NotFound
from orchard.store.tables import utcnow
from orchard.store.tracking_tables import ExperimentRow

DEFAULT_EXPERIMENT = "Default"
_NUMBER_ATTEMPTS = 5


class ExperimentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        workspace_id: int,
        name: str,
        artifact_root: str,
        tags: dict[str, str] | None = None,
        number: int | None = None,
    ) -> Experiment:
        """Concurrent creates are safe: one of two same-named ones raises Conflict, and two
        different names racing for the next number both get one."""
        for _ in range(_NUMBER_ATTEMPTS):
            if self._by_name(workspace_id, name) is not None:
                raise Conflict(f"Experiment '{name}' already exists.")
            row = ExperimentRow(
                workspace_id=workspace_id,
                number=self._next_number(workspace_id) if number is None else number,
                name=name,
                lifecycle_stage="active",
                tags=dict(tags or {}),
            )
            row.artifact_location = artifact_root.rstrip("/") + f"/{row.number}"
            try:
                with self.session.begin_nested():
                    self.session.add(row)
            except IntegrityError:
                if number is not None and self._by_name(workspace_id, name) is None:
                    raise Conflict(f"Experiment number {number} is taken.") from None
                continue
            return _entity(row)
        raise Conflict(f"Experiment '{name}' could not be numbered: too many concurrent creates.")

    def _next_number(self, workspace_id: int) -> int:
        highest = self.session.scalar(
            select(func.max(ExperimentRow.number)).where(ExperimentRow.workspace_id == workspace_id)
        )
        return 1 if highest is None else highest + 1

    def get(self, workspace_id: int, number: int) -> Experiment:
        return _entity(self.row(workspace_id, number))

    def row(self, workspace_id: int, number: int) -> ExperimentRow:
        row = self.session.scalar(
            select(ExperimentRow).where(
                ExperimentRow.workspace_id == workspace_id, ExperimentRow.number == number
            )
        )
        if row is None:
            raise NotFound(f"No Experiment with id={number} exists")
        return row

    def by_name(self, workspace_id: int, name: str) -> Experiment | None:
        row = self._by_name(workspace_id, name)
        return None if row is None else _entity(row)

    def row_by_name(self, workspace_id: int, name: str) -> ExperimentRow | None:
        return self._by_name(workspace_id, name)

    def ids(self, workspace_id: int) -> list[int]:
        """Internal ids of every experiment of the workspace, deleted ones included."""
        query = select(ExperimentRow.id).where(ExperimentRow.workspace_id == workspace_id)
        return list(self.session.scalars(query))

    def search(
        self,
        workspace_id: int,
        stages: Sequence[str] = ("active",),
        name_like: str | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> list[Experiment]:
        query: Select[ExperimentRow] = select(ExperimentRow).where(
            ExperimentRow.workspace_id == workspace_id,
            ExperimentRow.lifecycle_stage.in_(list(stages)),
        )
        if name_like is not None:
            query = query.where(ExperimentRow.name.like(name_like))
        query = query.order_by(ExperimentRow.number.desc()).offset(offset).limit(limit)
        return [_entity(row) for row in self.session.scalars(query)]

    def rename(self, workspace_id: int, number: int, name: str) -> None:
        if self._by_name(workspace_id, name) is not None:
            raise Conflict(f"Experiment '{name}' already exists.")
        row = self.row(workspace_id, number)
        row.name, row.updated_at = name, utcnow()

    def set_stage(self, workspace_id: int, number: int, stage: str) -> None:
        row = self.row(workspace_id, number)
        row.lifecycle_stage, row.updated_at = stage, utcnow()

    def set_tag(self, workspace_id: int, number: int, key: str, value: str | None) -> None:
        row = self.row(workspace_id, number)
        tags = dict(row.tags)
        if value is None:
            tags.pop(key, None)
        else:
            tags[key] = value
        row.tags, row.updated_at = tags, utcnow()

    def _by_name(self, workspace_id: int, name: str) -> ExperimentRow | None:
        return self.session.scalar(
            select(ExperimentRow).where(
                ExperimentRow.workspace_id == workspace_id, ExperimentRow.name == name
            )
        )


def millis(row_time: object) -> int | None:
    from datetime import datetime

    return int(row_time.timestamp() * 1000) if isinstance(row_time, datetime) else None


def _entity(row: ExperimentRow) -> Experiment:
    return Experiment(
        experiment_id=str(row.number),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage="deleted" if row.lifecycle_stage == "deleted" else "active",
        creation_time=millis(row.created_at),
        last_update_time=millis(row.updated_at),
        tags=[Tag(key=k, value=str(v)) for k, v in sorted(row.tags.items())],
    )
