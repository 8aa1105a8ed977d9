"""A deployment's files on this machine: its model under AZUREML_MODEL_DIR, its scoring
code, and the interpreter its environment builds into.

Azure mounts a registered model under AZUREML_MODEL_DIR keeping its own name
(`$AZUREML_MODEL_DIR/model/...` for a folder called `model`); older samples read the
folder's files at the top level instead, so each top-level entry is also linked there.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from orchard.entities.endpoints import PAYLOAD_COLLECTIONS, ManagedOnlineDeployment
from orchard.entities.jobs import ANONYMOUS_ENVIRONMENT
from orchard.errors import ValidationError
from orchard.services import Services
from orchard.services.workspaces import BLOB_STORE


@dataclass(frozen=True)
class DeploymentFiles:
    model_dir: Path  # AZUREML_MODEL_DIR
    model_path: Path | None  # the model's own file or folder inside it
    code: Path | None
    python: str
    env: dict[str, str]
    collect: dict[str, Path] = field(default_factory=dict)  # collection -> its folder


def materialize(
    services: Services, workspace: str, deployment: ManagedOnlineDeployment, root: Path
) -> DeploymentFiles:
    """Download the model and code into `root` (once per spec digest) and build the
    environment; what the workers of this version of the deployment run from."""
    root.mkdir(parents=True, exist_ok=True)
    model_dir = root / "azureml-models"
    model_path = None
    model = deployment.model
    if model is not None and not isinstance(model, str) and model.path:
        if not model_dir.exists():
            staging = root / "azureml-models.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            fetched = services.files.download(workspace, model.path, staging)
            _link_top_level(fetched, staging)
            staging.rename(model_dir)  # complete or absent, never half there
        model_path = next((p for p in model_dir.iterdir() if not p.is_symlink()), None)
    model_dir.mkdir(exist_ok=True)
    code = None
    if deployment.code_configuration is not None:
        code = root / "code"
        if not code.exists():
            staging = root / "code.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            fetched = services.files.download(
                workspace, deployment.code_configuration.code, staging
            )
            fetched.rename(code) if fetched.is_dir() else staging.rename(code)
    python, env = _interpreter(services, deployment, root / "environment_build.log")
    collect = collection_folders(services, workspace, deployment)
    return DeploymentFiles(model_dir, model_path, code, python, env, collect)


def collection_folders(
    services: Services, workspace: str, deployment: ManagedOnlineDeployment
) -> dict[str, Path]:
    """Where each enabled payload collection goes: its `data.path`, else
    `modelDataCollector/<endpoint>/<deployment>/<collection>/` on the workspace's
    blob store, as on Azure. Both must be on a local datastore."""
    collector = deployment.data_collector
    if collector is None:
        return {}
    folders = {}
    for name in PAYLOAD_COLLECTIONS:
        collection = collector.collections.get(name)
        if collection is None or not collection.enabled:
            continue
        data = collection.data
        given = data.get("path") if isinstance(data, dict) else None
        uri = (
            str(given)
            if given
            else (
                f"azureml://datastores/{BLOB_STORE}/paths/modelDataCollector/"
                f"{deployment.endpoint_name}/{deployment.name}/{name}"
            )
        )
        local = services.datastores.local_path(workspace, uri)
        if local is None:
            raise ValidationError(
                f"deployment {deployment.name}: data_collector.collections.{name}: {uri} is "
                "not on a local datastore"
            )
        folders[name] = local
    return folders


def _link_top_level(fetched: Path, model_dir: Path) -> None:
    if not fetched.is_dir():
        return
    for entry in fetched.iterdir():
        link = model_dir / entry.name
        if not link.exists():
            link.symlink_to(entry.relative_to(model_dir))


def _interpreter(
    services: Services, deployment: ManagedOnlineDeployment, log: Path
) -> tuple[str, dict[str, str]]:
    environment = deployment.environment
    if environment is None or isinstance(environment, str):
        return sys.executable, {}
    from orchard.runtime.environments import EnvironmentBuilder

    if not environment.name:
        environment = environment.model_copy(update={"name": ANONYMOUS_ENVIRONMENT})
    builder = EnvironmentBuilder(services.context.home / "environments")
    with log.open("a", encoding="utf-8") as sink:

        def write(line: str) -> None:
            sink.write(line.rstrip("\n") + "\n")

        built = builder.build(environment, log=write)
    return str(built.python), built.env_vars()
