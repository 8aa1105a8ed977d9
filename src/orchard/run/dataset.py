"""`Dataset`: azureml.core.Dataset's read side over Orchard's data assets.

`Dataset.get_by_name(ws, name, version="latest")` is a registered data asset version;
`to_pandas_dataframe()` reads it as a table (CSV, Parquet, JSON lines, MLTable), as
`ml_client.data.to_pandas_dataframe` does, and `download(target_path)` copies its files
into `target_path` and returns their paths, as Azure's FileDataset does. Mounting is not
offered: a job's inputs are bound by the job spec instead.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchard.errors import Conflict
from orchard.run.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from orchard.entities.assets import Data

LATEST = "latest"


class Dataset:
    """One version of a data asset of a workspace."""

    def __init__(self, workspace: Workspace, data: Data) -> None:
        self.workspace = workspace
        self._data = data

    @staticmethod
    def get_by_name(
        workspace: Workspace, name: str, version: int | str = LATEST, **_: Any
    ) -> Dataset:
        wanted = None if str(version) == LATEST else str(version)
        return Dataset(workspace, workspace.ml_client.data.get(name, wanted))

    @property
    def name(self) -> str:
        return self._data.name

    @property
    def version(self) -> int | str:
        """The version as Azure gives it: a number where the version is one."""
        version = self._data.version or ""
        return int(version) if version.isdigit() else version

    @property
    def id(self) -> str:
        return f"{self._data.name}:{self._data.version}"

    @property
    def description(self) -> str | None:
        return self._data.description

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._data.tags)

    @property
    def data_type(self) -> str:
        """Orchard's (Azure ML v2) type: uri_file, uri_folder or mltable."""
        return str(self._data.type)

    @property
    def path(self) -> str:
        return self._data.path

    def to_pandas_dataframe(self, **_: Any) -> pd.DataFrame:
        return self.workspace.ml_client.data.to_pandas_dataframe(self.name, self._data.version)

    def download(
        self, target_path: str | Path | None = None, overwrite: bool = False, **_: Any
    ) -> list[str]:
        """Copy the files into `target_path` (a new temporary folder when not given);
        returns the paths of the files copied. An existing file is an error unless
        `overwrite`."""
        target = Path(target_path) if target_path is not None else Path(tempfile.mkdtemp())
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target, prefix=".download-") as staging:
            fetched = self.workspace.ml_client.data.download(
                self.name, self._data.version, download_path=staging
            )
            found = [fetched] if fetched.is_file() else list(fetched.iterdir())
            items = [(item, target / item.name) for item in found]
            return [str(path) for source, goal in items for path in _move(source, goal, overwrite)]

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, version={self.version!r})"


def _move(source: Path, goal: Path, overwrite: bool) -> list[Path]:
    """Move a file or folder to `goal`; returns the files now under it."""
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
    moved = [goal / f.relative_to(source) if source.is_dir() else goal for f in files]
    clashes = [str(p) for p in moved if p.exists()]
    if clashes and not overwrite:
        raise Conflict(f"download would overwrite {', '.join(clashes)}: pass overwrite=True")
    for file, destination in zip(files, moved, strict=True):
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(file, destination)
    return moved
