"""MLflow's artifact proxy over the workspace's artifact store.

`mlflow-artifacts:/<path>` names `<path>` in the workspace's `workspaceartifactstore`
datastore: experiments keep their artifacts at `<experiment id>/`, runs below
`<experiment id>/<run id>/artifacts`, logged models below
`<experiment id>/models/<model id>/artifacts`. Every path is cleaned before it is used;
uploads stream to a temporary name that is renamed into place, downloads stream out.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from orchard.errors import NotFound, ValidationError
from orchard.services.datastores import DatastoreService
from orchard.services.tracking.experiments import ARTIFACT_SCHEME
from orchard.services.tracking.runs import RunService
from orchard.services.workspaces import ARTIFACT_STORE
from orchard.storage.filesystems import DatastoreFiles
from orchard.storage.paths import clean_relative_path
from orchard.storage.snapshots import CHUNK_SIZE
from orchard.storage.uris import DatastoreUri, parse_datastore_uri

_TEMP_PREFIX = ".orchard-upload-"


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None = None


def artifact_path(uri: str) -> str | None:
    """`mlflow-artifacts:/1/x` (with or without a host) -> `1/x`; None for other URIs."""
    if not uri.startswith(ARTIFACT_SCHEME):
        return None
    rest = uri[len(ARTIFACT_SCHEME) :]
    if rest.startswith("//"):  # mlflow-artifacts://host:port/path
        rest = rest[2:].partition("/")[2]
    return clean_relative_path(rest.lstrip("/"), what="artifact path")


def to_datastore_uri(uri: str) -> str:
    """An `mlflow-artifacts:` URI as Orchard's datastore URI; other URIs as given."""
    path = artifact_path(uri)
    return uri if path is None else str(DatastoreUri(ARTIFACT_STORE, path))


def to_mlflow_uri(uri: str) -> str:
    """A datastore URI into the artifact store as MLflow's `mlflow-artifacts:` URI."""
    located = parse_datastore_uri(uri)
    if located is None or located.datastore != ARTIFACT_STORE:
        return uri
    return f"{ARTIFACT_SCHEME}/{located.path}"


def join(root: str, path: str | None) -> str:
    cleaned = clean_relative_path(path or "", what="artifact path")
    return posixpath.join(root, cleaned) if cleaned else root


class Upload:
    """Bytes written under a temporary name, renamed into place by `commit`."""

    def __init__(self, files: DatastoreFiles, rel: str) -> None:
        self.files, self.rel = files, rel
        parent, _, name = rel.rpartition("/")
        temp_name = f"{_TEMP_PREFIX}{secrets.token_hex(6)}-{name}"
        # Object stores publish a file only when it is closed, so it goes straight there.
        self._target = (f"{parent}/{temp_name}" if parent else temp_name) if files.is_local else rel
        try:
            self._handle: IO[Any] = files.open(self._target, "wb")
        except OSError as exc:
            raise ValidationError(f"cannot write artifact {rel!r}: {exc.strerror}") from None

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)

    def commit(self) -> None:
        try:
            if self.files.is_local:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()
            if self.files.is_local:
                os.replace(self.files.url(self._target), self.files.url(self.rel))
        except OSError as exc:
            self.abort()
            raise ValidationError(f"cannot write artifact {self.rel!r}: {exc.strerror}") from None

    def abort(self) -> None:
        discard = getattr(self._handle, "discard", None)
        if callable(discard):
            discard()
        self._handle.close()
        if self.files.is_local:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.files.url(self._target))


class ArtifactService:
    def __init__(self, datastores: DatastoreService, runs: RunService) -> None:
        self.datastores = datastores
        self.runs = runs

    def files(self, workspace: str) -> DatastoreFiles:
        return self.datastores.open(workspace, ARTIFACT_STORE)

    def list(self, workspace: str, path: str | None) -> list[FileInfo]:
        """The entries directly inside folder `path`, named relative to it (MLflow lists a
        missing folder, or a file, as empty)."""
        files = self.files(workspace)
        rel = clean_relative_path(path or "", what="artifact path")
        if not files.exists(rel) or not files.isdir(rel):
            return []
        found = []
        for entry in files.list(rel):
            name = entry.rsplit("/", 1)[-1]
            if name.startswith(_TEMP_PREFIX) or not name:
                continue
            is_dir = files.isdir(entry)
            found.append(FileInfo(name, is_dir, None if is_dir else files.size(entry)))
        return found

    def open_upload(self, workspace: str, path: str) -> Upload:
        files = self.files(workspace)
        rel = clean_relative_path(path, what="artifact path")
        if not rel:
            raise ValidationError("an artifact upload needs a file path")
        if files.exists(rel) and files.isdir(rel):
            raise ValidationError(f"cannot write artifact {rel!r}: it is a folder")
        return Upload(files, rel)

    def read(self, workspace: str, path: str) -> Iterator[bytes]:
        """The file's bytes in chunks; opening happens now, so a missing file raises here."""
        files = self.files(workspace)
        rel = clean_relative_path(path, what="artifact path")
        if not rel or files.isdir(rel):
            raise ValidationError(f"artifact {rel!r} is a folder, not a file")
        try:
            return _chunks(files.open(rel, "rb"))
        except NotFound:  # its message names the server's own folder
            raise NotFound(f"Artifact {rel!r} not found") from None

    def delete(self, workspace: str, path: str) -> None:
        files = self.files(workspace)
        rel = clean_relative_path(path, what="artifact path")
        if not rel:
            raise ValidationError("refusing to delete the whole artifact store")
        if files.exists(rel):
            files.fs.rm(files.url(rel), recursive=True)

    # -- locations -----------------------------------------------------------------------

    def run_root(self, workspace: str, run_id: str) -> str:
        """Where a run's artifacts live in the artifact store."""
        uri = self.runs.get(workspace, run_id).info.artifact_uri
        return self.location(uri)

    def location(self, uri: str) -> str:
        """The artifact-store path of an `mlflow-artifacts:` or artifact-store datastore URI."""
        path = artifact_path(uri)
        if path is None:
            located = parse_datastore_uri(uri)
            if located is not None and located.datastore == ARTIFACT_STORE:
                path = located.path
        if path is None:
            raise ValidationError(f"{uri!r} is not in this server's artifact store")
        return path


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk
    finally:
        handle.close()
