"""Rules for what a data or model asset's path may point at."""

from __future__ import annotations

from pathlib import Path

from orchard.entities.assets import Model
from orchard.entities.base import Asset
from orchard.entities.datastores import LocalDatastore
from orchard.errors import ValidationError
from orchard.storage.paths import safe_join
from orchard.storage.uris import is_remote_uri, parse_datastore_uri
from orchard.store import Transaction

# Paths that name a job's output (Azure's form and MLflow's).
JOB_PATH_PREFIXES = ("azureml://jobs/", "runs:/")
# Schemes a data or model asset may reference in place.
REMOTE_SCHEMES = ("s3", "gs", "gcs", "abfs", "abfss", "az", "wasb", "wasbs", "adl", "http", "https")


def check_asset_path(tx: Transaction, workspace: str, asset: Asset) -> None:
    """Refuse a path that names an unknown datastore, escapes it, or is missing there."""
    path = getattr(asset, "path", None)
    if path is None:
        if isinstance(asset, Model):
            return
        raise ValidationError(f"{asset.kind} {asset.name}: path is required")
    where = f"{asset.kind} {asset.name}: path {path!r}"
    job = job_of_path(path)
    if job is not None:
        _check_job(tx, workspace, where, job)
        return
    located = parse_datastore_uri(path)
    if located is not None:
        workspace_id = tx.workspaces.id_of(workspace)
        datastore = tx.resources.find(workspace_id, "datastore", located.datastore)
        if datastore is None:
            raise ValidationError(f"{where}: unknown datastore {located.datastore!r}")
        if isinstance(datastore, LocalDatastore):
            _check_local(where, asset, safe_join(Path(datastore.path), located.path))
        return
    if is_remote_uri(path):
        scheme = path.split("://", 1)[0].lower() if "://" in path else path.split(":", 1)[0]
        if scheme not in REMOTE_SCHEMES:
            raise ValidationError(f"{where}: scheme {scheme!r} is not allowed")
        return
    raise ValidationError(
        f"{where}: local paths must be uploaded first (the SDK and CLI do this for you)"
    )


def job_of_path(path: str | None) -> str | None:
    """The job an `azureml://jobs/<job>/...` or `runs:/<run>/...` path names (a job's
    name is its run id), else None."""
    for prefix in JOB_PATH_PREFIXES:
        if path and path.startswith(prefix):
            return path[len(prefix) :].split("/", 1)[0] or None
    return None


def link_job(asset: Asset) -> Asset:
    """A model made from a job's output names that job, so its lineage reaches the job
    however the model was registered."""
    if isinstance(asset, Model) and asset.job_name is None:
        job = job_of_path(asset.path)
        if job is not None:
            return asset.model_copy(update={"job_name": job})
    return asset


def _check_job(tx: Transaction, workspace: str, where: str, job: str) -> None:
    found = tx.jobs.find(job)
    if found is None or found.workspace_id != tx.workspaces.id_of(workspace):
        raise ValidationError(f"{where}: no job named {job!r} in workspace {workspace!r}")


def _check_local(where: str, asset: Asset, target: Path) -> None:
    kind = getattr(asset, "type", None)
    if not target.exists():
        raise ValidationError(f"{where}: nothing at that path")
    if kind == "uri_file" and not target.is_file():
        raise ValidationError(f"{where}: a uri_file must point to a file, this is a folder")
    if kind in ("uri_folder", "mltable", "mlflow_model") and not target.is_dir():
        raise ValidationError(f"{where}: a {kind} must point to a folder, this is a file")
    if kind == "mltable" and not (target / "MLTable").is_file():
        raise ValidationError(f"{where}: the folder has no MLTable file")
    if kind == "mlflow_model" and not (target / "MLmodel").is_file():
        raise ValidationError(f"{where}: the folder has no MLmodel file")
