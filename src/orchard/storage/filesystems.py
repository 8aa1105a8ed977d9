"""Reach a datastore's files through fsspec.

``DatastoreFiles`` is the one door to a datastore: every relative path is cleaned (and,
on a local disk, checked against symbolic links) before fsspec sees it, and paths that
come back from a listing are checked again, because an object store happily holds a
key such as ``a/../../etc/passwd``.

The cloud libraries (adlfs, s3fs, gcsfs) are optional extras, imported only when a
datastore of their kind is opened. Credential values go to the library and nowhere
else: not into an error message, not into a repr.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from fsspec import AbstractFileSystem
from fsspec.callbacks import Callback
from fsspec.implementations.local import LocalFileSystem

from orchard.entities.datastores import (
    AzureBlobDatastore,
    AzureDataLakeGen1Datastore,
    AzureDataLakeGen2Datastore,
    AzureFileDatastore,
    DatastoreBase,
    GcsDatastore,
    LocalDatastore,
    S3Datastore,
)
from orchard.errors import NotFound, ValidationError
from orchard.storage.paths import clean_relative_path, safe_join
from orchard.storage.snapshots import CHUNK_SIZE, iter_files

Progress = Callable[[int], None]
_WRITE_MODES = frozenset("wax+")


class DatastoreFiles:
    """Files under ``root`` of an fsspec file system, addressed by relative posix paths."""

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.is_local = isinstance(fs, LocalFileSystem)
        self.root = os.path.abspath(root) if self.is_local else _strip(fs, root)

    def __repr__(self) -> str:
        # The file system object carries the credentials; only its kind is shown.
        return f"DatastoreFiles({type(self.fs).__name__}, {self.root!r})"

    def open(self, rel: str, mode: str = "rb") -> IO[Any]:
        """Open a file; writing creates missing parent folders on a local disk."""
        path = self._path(rel)
        if self.is_local and _WRITE_MODES & set(mode):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with self._not_found(rel):
            handle: IO[Any] = self.fs.open(path, mode)
        return handle

    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(self._path(rel)))

    def isdir(self, rel: str) -> bool:
        return bool(self.fs.isdir(self._path(rel)))

    def size(self, rel: str) -> int:
        """Bytes in a file, or in all files below a folder."""
        return sum(self._sizes(rel).values())

    def list(self, rel: str = "", recursive: bool = False) -> list[str]:
        """Paths relative to the datastore root: a folder's entries, or all files below it."""
        if recursive:
            return sorted(self._sizes(rel))
        with self._not_found(rel):
            found = self.fs.ls(self._path(rel), detail=False)
        return sorted(self._relative(str(path)) for path in found)

    def url(self, rel: str = "") -> str:
        """The local path, or the fsspec URL (``s3://bucket/key``) of ``rel``."""
        path = self._path(rel)
        return path if self.is_local else str(self.fs.unstrip_protocol(path))

    def download(self, rel: str, dest: Path, progress: Progress | None = None) -> Path:
        """Copy a file to ``dest``, or a folder's tree into folder ``dest``; returns ``dest``.

        Each file is written under a temporary name and renamed, so ``dest`` never holds
        a partial file.
        """
        cleaned = clean_relative_path(rel)
        if not self.isdir(cleaned):
            self._fetch(cleaned, dest, progress)
            return dest
        dest.mkdir(parents=True, exist_ok=True)
        for sub in self._sizes(cleaned):
            inner = sub[len(cleaned) + 1 :] if cleaned else sub
            self._fetch(sub, safe_join(dest, inner, what="downloaded path"), progress)
        return dest

    def upload(self, local: Path, rel: str, progress: Progress | None = None) -> None:
        """Put a local file at ``rel``, or a local folder's files below folder ``rel``."""
        if not os.path.lexists(local):
            raise NotFound(f"{local} does not exist")
        cleaned = clean_relative_path(rel)
        if not os.path.isdir(local):
            if not cleaned:
                raise ValidationError(f"uploading file {local} needs a file path, not the root")
            self._put(Path(os.path.realpath(local)), cleaned, progress)
            return
        for sub, path in iter_files(local):
            self._put(path, f"{cleaned}/{sub}" if cleaned else sub, progress)

    def _path(self, rel: str) -> str:
        cleaned = clean_relative_path(rel)
        if self.is_local:
            return str(safe_join(Path(self.root), cleaned))
        return f"{self.root}/{cleaned}" if cleaned else self.root

    def _relative(self, full: str) -> str:
        full = _strip(self.fs, full)
        if full == self.root:
            return ""
        if not full.startswith(self.root.rstrip("/") + "/"):
            raise ValidationError(f"{full!r} is not below the datastore root {self.root!r}")
        return clean_relative_path(full[len(self.root.rstrip("/")) + 1 :], what="stored path")

    def _sizes(self, rel: str) -> dict[str, int]:
        """Relative path -> size of every file at or below ``rel``."""
        cleaned = clean_relative_path(rel)
        path = self._path(cleaned)
        if self.is_local:
            # Our own walk, not fs.find: it refuses symbolic links that lead out of root.
            if not os.path.isdir(path):
                with self._not_found(rel):
                    return {cleaned: os.path.getsize(path)}
            return {
                f"{cleaned}/{sub}" if cleaned else sub: real.stat().st_size
                for sub, real in iter_files(Path(path))
            }
        with self._not_found(rel):
            found = self.fs.find(path, detail=True)
        if not found and not self.fs.exists(path):
            raise NotFound(f"{rel!r} not found in {self.url()}")
        return {self._relative(str(key)): int(info["size"]) for key, info in found.items()}

    def _fetch(self, rel: str, target: Path, progress: Progress | None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{secrets.token_hex(6)}"
        try:
            with self.open(rel, "rb") as src, tmp.open("xb") as dst:
                _stream(src, dst, progress)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def _put(self, local: Path, rel: str, progress: Progress | None) -> None:
        path = self._path(rel)
        if not self.is_local:
            # put_file uploads in one request or a multipart upload that is aborted on
            # failure, so no partial object is ever visible.
            self.fs.put_file(str(local), path, callback=_ForwardProgress(progress))
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{secrets.token_hex(6)}"
        try:
            with local.open("rb") as src, tmp.open("xb") as dst:
                _stream(src, dst, progress)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _not_found(self, rel: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise NotFound(f"{rel!r} not found in {self.url()}") from None


class _ForwardProgress(Callback):  # type: ignore[misc]
    """Hands fsspec's byte counts to our ``progress(increment)`` callable."""

    def __init__(self, progress: Progress | None) -> None:
        super().__init__()
        self._progress = progress
        self._sent = 0

    def call(self, *args: Any, **kwargs: Any) -> None:
        delta = int(self.value) - self._sent
        if delta > 0 and self._progress is not None:
            self._sent += delta
            self._progress(delta)


def _stream(src: IO[bytes], dst: IO[bytes], progress: Progress | None) -> None:
    while chunk := src.read(CHUNK_SIZE):
        dst.write(chunk)
        if progress is not None:
            progress(len(chunk))
    dst.flush()
    os.fsync(dst.fileno())


def _strip(fs: AbstractFileSystem, path: str) -> str:
    return str(fs._strip_protocol(path)).rstrip("/")


def open_datastore(datastore: DatastoreBase, credentials: dict[str, Any] | None) -> DatastoreFiles:
    """A ``DatastoreFiles`` for ``datastore``.

    ``credentials`` are the clear values from the secret store (the keys of the
    datastore's credential kind); None means identity-based access, where the cloud
    library finds credentials itself (managed identity, environment, CLI login).
    """
    creds = dict(credentials or {})
    if isinstance(datastore, LocalDatastore):
        return DatastoreFiles(LocalFileSystem(), datastore.path)
    if isinstance(datastore, AzureBlobDatastore):
        fs = _azure_fs(datastore.name, datastore.account_name, datastore.endpoint, creds)
        return DatastoreFiles(fs, datastore.container_name)
    if isinstance(datastore, AzureDataLakeGen2Datastore):
        fs = _azure_fs(datastore.name, datastore.account_name, datastore.endpoint, creds)
        return DatastoreFiles(fs, datastore.filesystem)
    if isinstance(datastore, S3Datastore):
        return _open_s3(datastore, creds)
    if isinstance(datastore, GcsDatastore):
        return _open_gcs(datastore, creds)
    if isinstance(datastore, AzureFileDatastore):
        raise ValidationError(
            f"azure_file datastores are not reachable from Orchard yet ({datastore.name!r}): "
            "no maintained fsspec file system for Azure Files exists; mount the share "
            "and register its folder as a local datastore"
        )
    if isinstance(datastore, AzureDataLakeGen1Datastore):
        raise ValidationError(
            f"azure_data_lake_gen1 datastores are not reachable from Orchard "
            f"({datastore.name!r}): Azure retired Data Lake Storage Gen1; move the data "
            "to a Data Lake Gen2 or blob datastore"
        )
    raise ValidationError(f"datastore {datastore.name!r} has an unknown kind")


def _azure_fs(
    name: str, account_name: str, endpoint: str, creds: dict[str, Any]
) -> AbstractFileSystem:
    kwargs: dict[str, Any] = {"account_name": account_name, **_azure_auth(name, creds)}
    if endpoint != "core.windows.net":
        # Sovereign clouds (China, US Gov) have their own storage suffix.
        kwargs["account_host"] = f"{account_name}.blob.{endpoint}"
    return _optional_import("adlfs", "azure").AzureBlobFileSystem(**kwargs)


def _azure_auth(name: str, creds: dict[str, Any]) -> dict[str, Any]:
    if not creds:
        # No key: adlfs falls back to DefaultAzureCredential (managed identity, CLI...).
        return {"anon": False}
    if "account_key" in creds:
        return {"account_key": creds["account_key"]}
    if "sas_token" in creds:
        return {"sas_token": creds["sas_token"]}
    if "client_secret" in creds:
        return _pick(name, creds, ("tenant_id", "client_id", "client_secret"))
    if "certificate" in creds:
        picked = _pick(name, creds, ("tenant_id", "client_id", "certificate"))
        identity = _optional_import("azure.identity.aio", "azure")
        credential = identity.CertificateCredential(
            picked["tenant_id"],
            picked["client_id"],
            certificate_data=str(picked["certificate"]).encode(),
        )
        return {"credential": credential}
    raise _wrong_credentials(name, "Azure storage", creds)


def _open_s3(datastore: S3Datastore, creds: dict[str, Any]) -> DatastoreFiles:
    kwargs = _s3_options(datastore, creds)
    root = _bucket_root(datastore.name, datastore.bucket, datastore.prefix)
    return DatastoreFiles(_optional_import("s3fs", "s3").S3FileSystem(**kwargs), root)


def _s3_options(datastore: S3Datastore, creds: dict[str, Any]) -> dict[str, Any]:
    client = {"endpoint_url": datastore.endpoint_url, "region_name": datastore.region}
    kwargs: dict[str, Any] = {"client_kwargs": {k: v for k, v in client.items() if v}}
    if not creds:
        kwargs["anon"] = False  # the AWS default chain: environment, profile, instance role
        return kwargs
    if "secret_access_key" not in creds:
        raise _wrong_credentials(datastore.name, "S3", creds)
    picked = _pick(datastore.name, creds, ("access_key_id", "secret_access_key"))
    kwargs.update(key=picked["access_key_id"], secret=picked["secret_access_key"])
    if creds.get("session_token"):
        kwargs["token"] = creds["session_token"]
    return kwargs


def _open_gcs(datastore: GcsDatastore, creds: dict[str, Any]) -> DatastoreFiles:
    kwargs = _gcs_options(datastore, creds)
    root = _bucket_root(datastore.name, datastore.bucket, datastore.prefix)
    return DatastoreFiles(_optional_import("gcsfs", "gcs").GCSFileSystem(**kwargs), root)


def _gcs_options(datastore: GcsDatastore, creds: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"project": datastore.project} if datastore.project else {}
    if not creds:
        kwargs["token"] = "google_default"
        return kwargs
    if "service_account_key" not in creds:
        raise _wrong_credentials(datastore.name, "Google Cloud Storage", creds)
    try:
        kwargs["token"] = json.loads(creds["service_account_key"])
    except (TypeError, ValueError):
        # `from None`: the parser's message would quote part of the key.
        raise ValidationError(
            f"datastore {datastore.name!r}: service_account_key is not valid JSON"
        ) from None
    return kwargs


def _bucket_root(name: str, bucket: str, prefix: str | None) -> str:
    if not bucket or clean_relative_path(bucket, what="bucket") != bucket or "/" in bucket:
        raise ValidationError(f"datastore {name!r}: bucket {bucket!r} is not a bucket name")
    cleaned = clean_relative_path(prefix or "", what=f"prefix of datastore {name!r}")
    return f"{bucket}/{cleaned}" if cleaned else bucket


def _pick(name: str, creds: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    missing = [key for key in keys if not creds.get(key)]
    if missing:
        raise ValidationError(f"datastore {name!r}: credentials lack {', '.join(missing)}")
    return {key: creds[key] for key in keys}


def _wrong_credentials(name: str, service: str, creds: dict[str, Any]) -> ValidationError:
    # Only the key names are shown, never their values.
    return ValidationError(
        f"datastore {name!r}: credentials with {sorted(creds)} cannot reach {service}"
    )


def _optional_import(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValidationError(
            f"{extra} datastores need the {module.split('.')[0]} package: "
            f"pip install 'orchard-ml[{extra}]'"
        ) from None
