"""After the command: its `./outputs`, `./logs` and std_log become the job's artifacts,
each bound output goes to its storage URI, and outputs with a name are registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchard.agent.workdir import JobFolder
from orchard.entities.assets import Data, Model
from orchard.entities.jobs import MODEL_TYPES
from orchard.services import Services
from orchard.services.workspaces import ARTIFACT_STORE
from orchard.storage.uris import parse_datastore_uri

ARTIFACT_SCHEME = "mlflow-artifacts:"


def artifact_path(artifact_uri: str) -> str:
    """`mlflow-artifacts:/3/<run>/artifacts` -> `3/<run>/artifacts` in the artifact store."""
    return artifact_uri.removeprefix(ARTIFACT_SCHEME).lstrip("/")


def collect_artifacts(
    services: Services, workspace: str, folder: JobFolder, artifact_uri: str
) -> None:
    store = services.datastores.open(workspace, ARTIFACT_STORE)
    root = artifact_path(artifact_uri)
    for name in ("outputs", "logs"):
        source = folder.wd / name
        if source.is_dir() and any(source.iterdir()):
            store.upload(source, f"{root}/{name}")
    if folder.std_log.exists():
        store.upload(folder.std_log, f"{root}/user_logs/std_log.txt")
    collect_system_logs(services, workspace, folder.root, artifact_uri)


def collect_system_logs(
    services: Services, workspace: str, job_root: Path, artifact_uri: str
) -> None:
    """Orchard's own logs of the job (the environment build's) go beside the user's, as
    Azure ML keeps its image build log with the run."""
    system_logs = job_root / "logs"
    if system_logs.is_dir() and any(system_logs.iterdir()):
        store = services.datastores.open(workspace, ARTIFACT_STORE)
        store.upload(system_logs, f"{artifact_path(artifact_uri)}/system_logs")


def deliver_outputs(
    services: Services,
    workspace: str,
    job: str,
    folder: JobFolder,
    outputs: dict[str, dict[str, Any]],
) -> None:
    for name, spec in outputs.items():
        source = Path(folder.outputs[name])
        located = parse_datastore_uri(spec["uri"])
        if located is None or not source.exists():
            continue
        files = services.datastores.open(workspace, located.datastore)
        files.upload(source, located.path.rstrip("/"))
        if spec.get("register_as"):
            _register(services, workspace, job, name, spec)


def register_outputs(
    services: Services, workspace: str, job: str, outputs: dict[str, dict[str, Any]]
) -> None:
    """Register each output given a `name` (a pipeline's, where its step wrote it)."""
    for name, spec in outputs.items():
        if spec.get("register_as"):
            _register(services, workspace, job, name, spec)


def _register(
    services: Services, workspace: str, job: str, name: str, spec: dict[str, Any]
) -> None:
    target = spec["register_as"]
    description = f"Output {name!r} of job {job}"
    if spec["type"] in MODEL_TYPES:
        services.models.create_or_update(
            workspace,
            Model(
                name=target["name"],
                version=target.get("version"),
                type=spec["type"],
                path=spec["uri"],
                job_name=job,
                description=description,
            ),
        )
    else:
        services.data.create_or_update(
            workspace,
            Data(
                name=target["name"],
                version=target.get("version"),
                type=spec["type"],
                path=spec["uri"],
                description=description,
            ),
        )
