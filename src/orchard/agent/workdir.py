"""A job's folder: its code snapshot as working directory, bound inputs and outputs.

Layout under `<home>/runs/<job>/`: `wd/` (the code, with `outputs/` and `logs/`),
`inputs/<name>` (downloads), `outputs/<name>` (what the script writes for an output),
`user_logs/std_log.txt` (stdout and stderr, as Azure ML names it), `python/orchard` (a
link to the Orchard package, for PYTHONPATH).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec

from orchard.services import Services
from orchard.storage.uris import parse_datastore_uri

MOUNT_MODES = {"ro_mount", "eval_mount", "rw_mount"}
ORCHARD_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass
class JobFolder:
    root: Path
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def wd(self) -> Path:
        return self.root / "wd"

    @property
    def std_log(self) -> Path:
        return self.root / "user_logs" / "std_log.txt"

    def output_folder(self, name: str) -> Path:
        return self.root / "outputs" / name

    @property
    def python_path(self) -> Path:
        """A folder holding only a link to the orchard package. On PYTHONPATH it lets an
        environment built without Orchard run `python -m orchard.parallel.driver`, and
        lets no other host package in."""
        return self.root / "python"


def job_root(services: Services, job: str) -> Path:
    return services.context.home / "runs" / job


def prepare(
    services: Services, workspace: str, job: str, resolved: dict[str, Any], code: str | None
) -> JobFolder:
    folder = JobFolder(root=job_root(services, job))
    if folder.wd.exists():
        shutil.rmtree(folder.wd)  # a re-queued job starts from its snapshot again
    folder.wd.mkdir(parents=True)
    if code:
        _copy_code(services, workspace, code, folder.wd)
    for name in ("outputs", "logs"):
        (folder.wd / name).mkdir(exist_ok=True)
    folder.std_log.parent.mkdir(parents=True, exist_ok=True)
    _link_orchard(folder.python_path)
    for name, spec in resolved.get("inputs", {}).items():
        folder.inputs[name] = _bind_input(services, workspace, folder, name, spec)
    for name, spec in resolved.get("outputs", {}).items():
        target = folder.output_folder(name)
        target.mkdir(parents=True, exist_ok=True)
        folder.outputs[name] = str(
            target / _file_name(spec["uri"]) if spec["type"] == "uri_file" else target
        )
    return folder


def _link_orchard(python_path: Path) -> None:
    link = python_path / "orchard"
    python_path.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(ORCHARD_PACKAGE, target_is_directory=True)


def _copy_code(services: Services, workspace: str, code: str, wd: Path) -> None:
    local = services.datastores.local_path(workspace, code)
    if local is not None:
        source = local
    else:
        source = services.files.download(workspace, code, wd.parent / "code-download")
    if source.is_dir():
        shutil.copytree(source, wd, dirs_exist_ok=True, copy_function=shutil.copyfile)
        for path in [wd, *wd.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # snapshots are read-only
    else:
        shutil.copyfile(source, wd / source.name)


def _bind_input(
    services: Services, workspace: str, folder: JobFolder, name: str, spec: dict[str, Any]
) -> str:
    if spec["type"] == "literal":
        return str(spec["value"])
    uri, mode = spec["uri"], spec.get("mode", "ro_mount")
    if mode == "direct":
        return str(uri)
    if mode in MOUNT_MODES:
        local = services.datastores.local_path(workspace, uri)
        if local is not None:
            return str(local)  # a read-only view in place: the snapshot itself
    destination = folder.root / "inputs" / name
    destination.mkdir(parents=True, exist_ok=True)
    if parse_datastore_uri(uri) is not None:
        return str(services.files.download(workspace, uri, destination))
    fs, path = fsspec.core.url_to_fs(uri)
    target = destination / _file_name(uri)
    fs.get(path, str(target), recursive=True)
    return str(target)


def _file_name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1] or "data"
