"""Moving files in and out of datastores: uploads become content-addressed snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec

from orchard.entities.datastores import LocalDatastore
from orchard.errors import ValidationError
from orchard.services.context import Context
from orchard.services.datastores import DatastoreService
from orchard.storage.filesystems import DatastoreFiles
from orchard.storage.snapshots import digest_of, store_snapshot
from orchard.storage.uris import DatastoreUri, is_remote_uri, parse_datastore_uri

UPLOAD_PREFIX = "LocalUpload"
Progress = Callable[[int], None]


class FileService:
    def __init__(self, context: Context, datastores: DatastoreService) -> None:
        self.context = context
        self.datastores = datastores

    def upload(
        self,
        workspace: str,
        source: Path,
        *,
        datastore: str | None = None,
        progress: Progress | None = None,
        ignore_file_names: tuple[str, ...] = (),
        max_bytes: int | None = None,
    ) -> str:
        """Snapshot a local file or folder into a datastore; same bytes, same URI."""
        target = (
            self.datastores.get(workspace, datastore)
            if datastore
            else self.datastores.get_default(workspace)
        )
        if isinstance(target, LocalDatastore):
            snapshot = store_snapshot(
                source,
                Path(target.path),
                prefix=UPLOAD_PREFIX,
                progress=progress,
                ignore_file_names=ignore_file_names,
                max_bytes=max_bytes,
            )
            return str(DatastoreUri(target.name, snapshot.relative_path))
        digest = digest_of(source, ignore_file_names=ignore_file_names)
        relative = f"{UPLOAD_PREFIX}/{digest}/{source.name}"
        files = self.datastores.open(workspace, target.name)
        if not files.exists(relative):
            files.upload(source, relative)
        return str(DatastoreUri(target.name, relative))

    def locate(self, workspace: str, uri: str) -> tuple[DatastoreFiles, str] | None:
        """The datastore files and relative path behind an `azureml://datastores/` URI."""
        parsed = parse_datastore_uri(uri)
        if parsed is None:
            return None
        return self.datastores.open(workspace, parsed.datastore), parsed.path

    def resolver(self, workspace: str) -> Callable[[str], tuple[Any, str]]:
        """Maps any URI a data asset may hold to (fsspec filesystem, path in it)."""

        def resolve(uri: str) -> tuple[Any, str]:
            located = self.locate(workspace, uri)
            if located is not None:
                files, relative = located
                return files.fs, files.url(relative)
            if uri.startswith("azureml:"):
                raise ValidationError(f"cannot read {uri!r}: not a datastore path")
            fs, path = fsspec.core.url_to_fs(uri)
            return fs, path

        return resolve

    def download(self, workspace: str, uri: str, destination: Path) -> Path:
        """Copy what `uri` points at (file or folder) under `destination`."""
        located = self.locate(workspace, uri)
        if located is not None:
            files, relative = located
            name = relative.rstrip("/").rsplit("/", 1)[-1] or "data"
            return files.download(relative, destination / name)
        if not is_remote_uri(uri):
            raise ValidationError(f"cannot download {uri!r}: not a URI")
        fs, path = fsspec.core.url_to_fs(uri)
        target = destination / Path(path.rstrip("/")).name
        fs.get(path, str(target), recursive=True)
        return target
