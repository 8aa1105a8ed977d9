"""MLflow model versions as Orchard model versions.

A version registered through MLflow is an Orchard model version of `type: mlflow_model`
whose `path` is where its files are (the artifact store's datastore URI when they are
there), `job_name` the run that made it and `stage` MLflow's stage. MLflow's own
`source`, `model_id` and `run_link` are kept as properties. A deleted version is an
archived one: Orchard keeps it (and its number), MLflow no longer sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

from orchard.entities.assets import Model
from orchard.entities.base import Asset
from orchard.entities.model_registry import STAGES, ModelVersion
from orchard.entities.tracking import Tag
from orchard.errors import NotFound, ValidationError
from orchard.services.context import Context
from orchard.services.tracking.artifacts import join, to_datastore_uri, to_mlflow_uri
from orchard.services.tracking.runs import RunService
from orchard.store import Transaction
from orchard.store.experiments import millis

KIND = "model"
SOURCE, MODEL_ID, RUN_LINK = "mlflow.source", "mlflow.model_id", "mlflow.run_link"


def stage_name(stage: str) -> str:
    """MLflow's spelling of a stage given in any case."""
    for known in STAGES:
        if known.lower() == str(stage).strip().lower():
            return known
    raise ValidationError(
        f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(STAGES)}."
    )


def to_model_version(asset: Asset, aliases: Mapping[str, str]) -> ModelVersion:
    context = asset.creation_context
    version = asset.version or ""
    path = getattr(asset, "path", None) or ""
    return ModelVersion(
        name=asset.name,
        version=version,
        creation_timestamp=millis(context.created_at) if context else None,
        last_updated_timestamp=millis(context.last_modified_at) if context else None,
        user_id=context.created_by if context else None,
        current_stage=asset.stage or "None",
        description=asset.description or "",
        source=asset.properties.get(SOURCE) or to_mlflow_uri(path),
        run_id=getattr(asset, "job_name", None) or "",
        tags=[Tag(key=k, value=v) for k, v in sorted(asset.tags.items())],
        run_link=asset.properties.get(RUN_LINK) or None,
        aliases=sorted(alias for alias, v in aliases.items() if v == version),
        model_id=asset.properties.get(MODEL_ID) or None,
    )


def version_order(asset: Asset) -> tuple[int, str]:
    version = asset.version or ""
    return (int(version), "") if version.isdigit() else (-1, version)


class ModelVersionService:
    def __init__(self, context: Context, runs: RunService) -> None:
        self.context = context
        self.runs = runs

    def create(
        self,
        workspace: str,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        model_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.registry.get(workspace_id, name, lock=True)
            location, run_id, model_id = self._resolve(tx, workspace, source, run_id, model_id)
            properties = {SOURCE: source, MODEL_ID: model_id or "", RUN_LINK: run_link or ""}
            try:
                model = Model(
                    name=name,
                    type="mlflow_model",
                    path=location,
                    job_name=run_id or None,
                    description=description or None,
                    tags=dict(tags or {}),
                    properties={k: v for k, v in properties.items() if v},
                )
            except pydantic.ValidationError as error:
                raise ValidationError(f"model version of {name!r}: {error}") from None
            created = tx.assets.create(workspace_id, model, created_by=self.context.user)
            tx.registry.touch(workspace_id, name)
            return to_model_version(created, {})

    def get(self, workspace: str, name: str, version: str) -> ModelVersion:
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            asset = self.asset(tx, workspace_id, name, version)
            return to_model_version(asset, tx.registry.aliases(workspace_id, name))

    def update(
        self, workspace: str, name: str, version: str, changes: Mapping[str, Any]
    ) -> ModelVersion:
        """Change description, stage or tags of a live version."""
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.asset(tx, workspace_id, name, version)
            updated = tx.assets.update(workspace_id, KIND, name, version, changes)
            tx.registry.touch(workspace_id, name)
            return to_model_version(updated, tx.registry.aliases(workspace_id, name))

    def set_tag(self, workspace: str, name: str, version: str, key: str, value: str | None) -> None:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tags = dict(self.asset(tx, workspace_id, name, version).tags)
            if value is None:
                tags.pop(key, None)
            else:
                tags[key] = value
            tx.assets.update(workspace_id, KIND, name, version, {"tags": tags})

    def transition(
        self, workspace: str, name: str, version: str, stage: str, archive_existing: bool
    ) -> ModelVersion:
        wanted = stage_name(stage)
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.asset(tx, workspace_id, name, version)
            if archive_existing and wanted in ("Staging", "Production"):
                for other in tx.assets.versions(workspace_id, KIND, name):
                    if other.version != version and other.stage == wanted:
                        assert other.version is not None
                        tx.assets.update(
                            workspace_id, KIND, name, other.version, {"stage": "Archived"}
                        )
            stored = None if wanted == "None" else wanted
            updated = tx.assets.update(workspace_id, KIND, name, version, {"stage": stored})
            tx.registry.touch(workspace_id, name)
            return to_model_version(updated, tx.registry.aliases(workspace_id, name))

    def delete(self, workspace: str, name: str, version: str) -> None:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.asset(tx, workspace_id, name, version)
            tx.assets.set_archived(workspace_id, KIND, name, version, True)
            tx.registry.delete_version_aliases(workspace_id, name, version)
            tx.registry.touch(workspace_id, name)

    def download_uri(self, workspace: str, name: str, version: str) -> str:
        with self.context.store.read() as tx:
            asset = self.asset(tx, tx.workspaces.id_of(workspace), name, version)
        return to_mlflow_uri(getattr(asset, "path", None) or "")

    def live_versions(self, tx: Transaction, workspace_id: int, name: str) -> list[Asset]:
        """A registered model's versions that are not deleted, newest first."""
        if not tx.assets.exists(workspace_id, KIND, name):
            return []
        return sorted(tx.assets.versions(workspace_id, KIND, name), key=version_order)[::-1]

    def asset(self, tx: Transaction, workspace_id: int, name: str, version: str) -> Asset:
        tx.registry.get(workspace_id, name)
        try:
            asset = tx.assets.get(workspace_id, KIND, name, str(version))
        except NotFound:
            asset = None
        if asset is None or asset.archived:
            raise NotFound(f"Model Version (name={name}, version={version}) not found")
        return asset

    def _resolve(
        self,
        tx: Transaction,
        workspace: str,
        source: str,
        run_id: str | None,
        model_id: str | None,
    ) -> tuple[str, str | None, str | None]:
        """Where a source's files are, with the run (and logged model) behind it."""
        workspace_id = tx.workspaces.id_of(workspace)
        if source.startswith("models:/"):
            reference = source[len("models:/") :].strip("/")
            if "/" in reference:  # models:/<name>/<version>
                other_name, _, other_version = reference.partition("/")
                other = self.asset(tx, workspace_id, other_name, other_version)
                return getattr(other, "path", None) or "", run_id, model_id
            model_id = model_id or reference
        if model_id and (source.startswith("models:/") or not source):
            logged = tx.logged_models.get(workspace_id, model_id)
            location = to_datastore_uri(logged.info.artifact_uri)
            return location, run_id or logged.info.source_run_id, model_id
        if source.startswith("runs:/"):
            source_run, _, path = source[len("runs:/") :].partition("/")
            row = self.runs.row(tx, workspace, source_run)
            return to_datastore_uri(join(row.artifact_uri, path)), run_id or source_run, model_id
        if "://" in source or source.startswith("mlflow-artifacts:"):
            if source.lower().startswith("file:"):
                raise _local_source(source)
            return to_datastore_uri(source), run_id, model_id
        raise _local_source(source)


def _local_source(source: str) -> ValidationError:
    return ValidationError(
        f"Invalid model version source {source!r}: a path on the client's disk cannot be "
        "registered on a server; log the model as an artifact first (mlflow.<flavor>."
        "log_model) and register its 'runs:/', 'models:/' or 'mlflow-artifacts:/' URI"
    )
