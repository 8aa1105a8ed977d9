"""`ml_client.data`, `.models`, `.environments`: versioned asset operations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from orchard.entities.assets import Data, Environment, Model
from orchard.entities.base import Asset
from orchard.entities.component_loading import read_conda_file
from orchard.entities.lineage import DataUsage, ModelLineage
from orchard.errors import NotFound, ValidationError
from orchard.sdk.transport import Transport
from orchard.services.assets import AssetService
from orchard.services.data import job_of_path
from orchard.storage.uris import is_local_path
from orchard.store.assets import AssetFilter, ListView

if TYPE_CHECKING:  # pandas and pyarrow load only when a table is asked for
    import pandas as pd
    import pyarrow as pa

    from orchard.data.profile import DataProfile

A = TypeVar("A", bound=Asset)
Progress = Callable[[int], None]


class ListViewType(StrEnum):
    """azure.ai.ml.constants.ListViewType."""

    ACTIVE_ONLY = "active_only"
    ARCHIVED_ONLY = "archived_only"
    ALL = "all"


class AssetOperations(Generic[A]):
    """What every versioned kind shares; subclasses name their service."""

    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace

    @property
    def _service(self) -> AssetService:
        raise NotImplementedError

    def create_or_update(self, asset: A, *, progress: Progress | None = None) -> A:
        prepared = self._prepare(asset, progress)
        return cast(A, self._service.create_or_update(self._workspace(), prepared))

    def create(self, asset: A, *, progress: Progress | None = None) -> A:
        """Like create_or_update, but an existing version is an error (`az ml ... create`)."""
        prepared = self._prepare(asset, progress)
        return cast(
            A, self._service.create_or_update(self._workspace(), prepared, create_only=True)
        )

    def get(
        self,
        name: str,
        version: str | None = None,
        label: str | None = None,
        *,
        tags: Mapping[str, str | None] | None = None,
    ) -> A:
        """One version: `version`, else the latest; with `tags`, the newest version that has
        all of them (a None value: has the tag, whatever its value)."""
        return cast(A, self._service.get(self._workspace(), name, _str(version), label, tags))

    def resolve(self, reference: str) -> A:
        return cast(A, self._service.resolve(self._workspace(), reference))

    def list(
        self,
        name: str | None = None,
        *,
        list_view_type: ListViewType | str = ListViewType.ACTIVE_ONLY,
        tags: Mapping[str, str | None] | None = None,
    ) -> list[A]:
        where = AssetFilter(view=ListView(ListViewType(list_view_type).value), tags=tags)
        return cast(list[A], self._service.list(self._workspace(), name, where))

    def update(self, name: str, version: str, **changes: Any) -> A:
        """Change description, tags, properties or stage of one version."""
        return cast(A, self._service.update(self._workspace(), name, _str(version) or "", changes))

    def archive(self, name: str, version: str | None = None, label: str | None = None) -> None:
        self._service.archive(self._workspace(), name, self._version(name, version, label))

    def restore(self, name: str, version: str | None = None, label: str | None = None) -> None:
        self._service.restore(self._workspace(), name, self._version(name, version, label))

    def _version(self, name: str, version: str | None, label: str | None) -> str | None:
        if label is not None:
            return self.get(name, label=label).version
        return _str(version)

    def _prepare(self, asset: A, progress: Progress | None) -> A:
        return asset


class _UploadingOperations(AssetOperations[A]):
    """Data and models: a local path is uploaded as a snapshot before registering."""

    def _prepare(self, asset: A, progress: Progress | None) -> A:
        path = getattr(asset, "path", None)
        # `runs:/<run>/...` has no `//`, yet names a job's output, not a local file.
        if path is None or not is_local_path(path) or job_of_path(path) is not None:
            return asset
        source = Path(path).expanduser()
        if not source.exists():
            raise NotFound(f"{asset.kind} {asset.name}: local path {path} does not exist")
        uri = self._transport.files.upload(
            self._workspace(),
            source.resolve(),
            datastore=getattr(asset, "datastore", None),
            progress=progress,
        )
        return asset.model_copy(update={"path": uri})

    def download(
        self,
        name: str,
        version: str | None = None,
        label: str | None = None,
        download_path: str | Path = ".",
    ) -> Path:
        """Write the asset's files under `download_path/<name>/`."""
        asset = self.get(name, version, label)
        path = getattr(asset, "path", None)
        if not path:
            raise ValidationError(f"{asset.kind} {name}:{asset.version} has no files")
        destination = Path(download_path) / name
        destination.mkdir(parents=True, exist_ok=True)
        return self._transport.files.download(self._workspace(), path, destination)


class DataOperations(_UploadingOperations[Data]):
    @property
    def _service(self) -> AssetService:
        return self._transport.data

    def to_arrow_table(self, name: str, version: str | None = None) -> pa.Table:
        return self._transport.tables.read(self._workspace(), self.get(name, version))

    def to_pandas_dataframe(self, name: str, version: str | None = None) -> pd.DataFrame:
        frame: pd.DataFrame = self.to_arrow_table(name, version).to_pandas()
        return frame

    def profile(self, name: str, version: str | None = None) -> DataProfile:
        return self._transport.tables.profile(self._workspace(), self.get(name, version))

    def used_by(self, name: str, version: str | None = None, label: str | None = None) -> DataUsage:
        """The jobs that read this data version, and the model versions they produced."""
        chosen = self.get(name, version, label).version or ""
        return self._transport.lineage.data_used_by(self._workspace(), name, chosen)


class ModelOperations(_UploadingOperations[Model]):
    @property
    def _service(self) -> AssetService:
        return self._transport.models

    def lineage(
        self, name: str, version: str | None = None, label: str | None = None
    ) -> ModelLineage:
        """The job that produced the version, with its code snapshot, environment, params
        and the data asset versions it read (the latest version unless one is named)."""
        chosen = self.get(name, version, label).version or ""
        return self._transport.lineage.model(self._workspace(), name, chosen)


class EnvironmentOperations(AssetOperations[Environment]):
    @property
    def _service(self) -> AssetService:
        return self._transport.environments

    def _prepare(self, asset: Environment, progress: Progress | None) -> Environment:
        # Azure's SDK reads the conda file when the object is built; we read it here.
        if isinstance(asset.conda_file, str):
            conda = read_conda_file(Path(asset.conda_file), f"environment {asset.name}")
            return asset.model_copy(update={"conda_file": conda})
        return asset


def _str(version: str | int | None) -> str | None:
    return None if version is None else str(version)
