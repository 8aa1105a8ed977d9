"""Checking a submitted job before anything starts: compute, environment, inputs, outputs.

Whatever a job names must exist now, so a typo fails at submit with a message naming
it, not minutes later inside a runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchard.entities.assets import Data, Environment, Model
from orchard.entities.jobs import MODEL_TYPES, CommandJob, Input, JobBase, Output
from orchard.entities.references import is_asset_ref
from orchard.errors import NotFound, ValidationError
from orchard.services.assets import AssetService
from orchard.services.compute import ComputeService
from orchard.services.datastores import DatastoreService
from orchard.services.jobs.binding import required_references
from orchard.storage.uris import is_remote_uri, parse_datastore_uri

LOCAL_COMPUTES = {"local", "serverless", ""}
DEFAULT_OUTPUT_ROOT = "azureml://datastores/workspaceblobstore/paths/azureml/{job}/{output}/"
LITERAL_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool}


def environment_of(
    environments: AssetService, workspace: str, value: str | Environment | None, what: str
) -> Environment | None:
    """An inline, curated or registered environment (None: the host interpreter); `what`
    names the job or deployment in the error for one that does not exist."""
    if value is None or isinstance(value, Environment):
        return value
    from orchard.runtime.environments import resolve_curated

    curated = resolve_curated(value)
    if curated is not None:
        return curated
    try:
        found = environments.resolve(workspace, value)
    except NotFound:
        raise ValidationError(
            f"{what} environment {value!r}: no such environment (registered or curated)"
        ) from None
    assert isinstance(found, Environment)
    return found


@dataclass
class Resolver:
    data: AssetService
    models: AssetService
    environments: AssetService
    compute: ComputeService
    datastores: DatastoreService

    def compute_name(self, workspace: str, compute: str | None) -> str:
        name = (compute or "").removeprefix("azureml:")
        if name.lower() in LOCAL_COMPUTES:
            return "local"
        try:
            self.compute.get(workspace, name)
        except NotFound:
            raise ValidationError(
                f"job compute {compute!r}: no compute named {name!r} in workspace "
                f"{workspace!r}; create it (orchard compute create --name {name} --type "
                "amlcompute) or use 'local'"
            ) from None
        return name

    def environment(self, workspace: str, job: CommandJob) -> dict[str, Any] | None:
        """The environment as a spec dict (None: the host interpreter)."""
        found = environment_of(self.environments, workspace, job.environment, "job")
        return None if found is None else found.model_dump(mode="json", exclude_none=True)

    def inputs(self, workspace: str, job: JobBase) -> dict[str, dict[str, Any]]:
        """Bound inputs; an optional input given no value is left unbound, which drops the
        `$[[...]]` fragments that name it."""
        bound = {name: self._input(workspace, name, value) for name, value in job.inputs.items()}
        return {name: value for name, value in bound.items() if value is not None}

    def outputs(
        self, job_name: str, outputs: Mapping[str, Output | None]
    ) -> dict[str, dict[str, Any]]:
        resolved = {}
        for name, output in outputs.items():
            given = output or Output()
            path = given.path or DEFAULT_OUTPUT_ROOT.format(job=job_name, output=name)
            path = path.replace("${{name}}", job_name)
            path = path.replace("${{default_datastore}}", "workspaceblobstore")
            if parse_datastore_uri(path) is None and not is_remote_uri(path):
                raise ValidationError(f"job output {name!r}: path {path!r} is not a storage URI")
            resolved[name] = {
                "type": given.type,
                "uri": path,
                "mode": given.mode or "rw_mount",
                "register_as": {"name": given.name, "version": given.version}
                if given.name
                else None,
            }
        return resolved

    def check_command(self, job: CommandJob) -> None:
        for scope, name in sorted(required_references(job.command)):
            known = job.inputs if scope == "inputs" else job.outputs if scope == "outputs" else {}
            if name not in known:
                raise ValidationError(
                    f"job command refers to ${{{{{scope}.{name}}}}} but the job has no "
                    f"{scope[:-1]} named {name!r}"
                )

    def _input(self, workspace: str, name: str, value: Any) -> dict[str, Any] | None:
        if not isinstance(value, Input):
            return {"type": "literal", "value": _literal_text(value)}
        if value.optional and value.default is None and not value.path:
            return None
        if value.is_literal:
            if value.default is None:
                raise ValidationError(f"job input {name!r}: a {value.type} input needs a value")
            return {"type": "literal", "value": _literal_text(value.default)}
        if not value.path:
            raise ValidationError(f"job input {name!r}: a {value.type} input needs a path")
        if is_asset_ref(value.path) and value.type in MODEL_TYPES:
            model = self._model(workspace, name, value.path)
            return {
                "type": value.type,
                "uri": model.path,
                "mode": value.mode or "ro_mount",
                "model": f"{model.name}:{model.version}",
            }
        if is_asset_ref(value.path):
            asset = self._data_asset(workspace, name, value.path)
            # The version, not only the path: lineage names the data a job read.
            return {
                "type": value.type or asset.type,
                "uri": asset.path,
                "mode": value.mode or "ro_mount",
                "asset": f"{asset.name}:{asset.version}",
            }
        uri = self._input_uri(workspace, name, value.path)
        return {"type": value.type, "uri": uri, "mode": value.mode or "ro_mount"}

    def _data_asset(self, workspace: str, name: str, reference: str) -> Data:
        try:
            asset = self.data.resolve(workspace, reference)
        except NotFound as missing:
            raise ValidationError(f"job input {name!r}: {missing.message}") from None
        assert isinstance(asset, Data)
        return asset

    def _model(self, workspace: str, name: str, reference: str) -> Model:
        try:
            model = self.models.resolve(workspace, reference)
        except NotFound as missing:
            raise ValidationError(f"job input {name!r}: {missing.message}") from None
        assert isinstance(model, Model)
        if not model.path:
            raise ValidationError(f"job input {name!r}: model {reference!r} has no files")
        return model

    def _input_uri(self, workspace: str, name: str, path: str) -> str:
        located = parse_datastore_uri(path)
        if located is not None:
            try:
                self.datastores.get(workspace, located.datastore)
            except NotFound:
                raise ValidationError(
                    f"job input {name!r}: unknown datastore {located.datastore!r}"
                ) from None
            return path
        if is_remote_uri(path):
            return path
        raise ValidationError(
            f"job input {name!r}: local path {path!r} must be uploaded first (the SDK and CLI "
            "do this)"
        )


def _literal_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # what Python's str() gives, as Azure passes it
    return str(value)
