"""Experiments: MLflow's experiment API over a workspace's experiments."""

from __future__ import annotations

import contextlib

from orchard.entities.tracking import Experiment
from orchard.errors import Conflict, NotFound, ValidationError
from orchard.services.context import Context
from orchard.services.tracking.paging import decode_token, encode_token
from orchard.store import Transaction
from orchard.store.experiments import DEFAULT_EXPERIMENT
from orchard.store.tracking_tables import ExperimentRow

ARTIFACT_SCHEME = "mlflow-artifacts:"


class ExperimentService:
    def __init__(self, context: Context) -> None:
        self.context = context

    def ensure_default(self, tx: Transaction, workspace_id: int) -> ExperimentRow:
        """Experiment "0", named Default, exists in every workspace, as in MLflow."""
        row = tx.experiments.row_by_name(workspace_id, DEFAULT_EXPERIMENT)
        if row is not None:
            return row
        try:
            return tx.experiments.row(workspace_id, 0)
        except NotFound:
            pass
        with contextlib.suppress(Conflict):  # a concurrent call created it first
            tx.experiments.create(workspace_id, DEFAULT_EXPERIMENT, ARTIFACT_SCHEME + "/", number=0)
        return tx.experiments.row(workspace_id, 0)

    def create(
        self,
        workspace: str,
        name: str,
        *,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        if not name or not name.strip():
            raise ValidationError("Invalid experiment name: ''")
        if artifact_location:
            raise ValidationError(
                "artifact_location is chosen by the server: experiments store their artifacts "
                "in the workspace artifact store"
            )
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.ensure_default(tx, workspace_id)
            existing = tx.experiments.row_by_name(workspace_id, name)
            if existing is not None:
                raise Conflict(f"Experiment '{name}' already exists.")
            created = tx.experiments.create(workspace_id, name, ARTIFACT_SCHEME + "/", tags)
            return created.experiment_id

    def get(self, workspace: str, experiment_id: str) -> Experiment:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.ensure_default(tx, workspace_id)
            return tx.experiments.get(workspace_id, _number(experiment_id))

    def get_by_name(self, workspace: str, name: str) -> Experiment:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.ensure_default(tx, workspace_id)
            found = tx.experiments.by_name(workspace_id, name)
        if found is None:
            raise NotFound(f"Could not find experiment with name '{name}'")
        return found

    def get_or_create(self, workspace: str, name: str) -> Experiment:
        try:
            return self.get_by_name(workspace, name)
        except NotFound:
            pass
        try:
            return self.get(workspace, self.create(workspace, name))
        except Conflict:  # created by someone else in between
            return self.get_by_name(workspace, name)

    def search(
        self,
        workspace: str,
        *,
        view_type: str = "ACTIVE_ONLY",
        max_results: int = 1000,
        name_like: str | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Experiment], str | None]:
        offset = decode_token(page_token)
        stages = {
            "ACTIVE_ONLY": ("active",),
            "DELETED_ONLY": ("deleted",),
            "ALL": ("active", "deleted"),
        }.get(view_type.upper(), ("active",))
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.ensure_default(tx, workspace_id)
            found = tx.experiments.search(workspace_id, stages, name_like, offset, max_results + 1)
        token = encode_token(offset + max_results) if len(found) > max_results else None
        return found[:max_results], token

    def rename(self, workspace: str, experiment_id: str, new_name: str) -> None:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.experiments.rename(workspace_id, _number(experiment_id), new_name)

    def set_stage(self, workspace: str, experiment_id: str, stage: str) -> None:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            if stage == "deleted" and _number(experiment_id) == 0:
                raise ValidationError("Cannot delete the default experiment '0'.")
            tx.experiments.set_stage(workspace_id, _number(experiment_id), stage)

    def set_tag(self, workspace: str, experiment_id: str, key: str, value: str | None) -> None:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.experiments.set_tag(workspace_id, _number(experiment_id), key, value)

    # -- for other tracking services, inside their transaction ---------------------------

    def row(self, tx: Transaction, workspace_id: int, experiment_id: str) -> ExperimentRow:
        number = _number(experiment_id)
        if number == 0:
            return self.ensure_default(tx, workspace_id)
        return tx.experiments.row(workspace_id, number)

    def active_row(self, tx: Transaction, workspace_id: int, experiment_id: str) -> ExperimentRow:
        row = self.row(tx, workspace_id, experiment_id)
        if row.lifecycle_stage != "active":
            raise ValidationError(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {row.lifecycle_stage}."
            )
        return row

    def number_of(self, tx: Transaction, internal_id: int) -> int:
        row = tx.session.get(ExperimentRow, internal_id)
        assert row is not None
        return row.number


def _number(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise ValidationError(
            f"Invalid value {experiment_id!r} for parameter 'experiment_id' supplied."
        ) from None
