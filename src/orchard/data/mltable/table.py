"""The ``MLTable`` class: a parsed spec that reads its files into one table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pandas as pd
import pyarrow as pa

from orchard.data.mltable.paths import (
    SPEC_FILE_NAME,
    File,
    PathEntry,
    Resolver,
    default_resolver,
    expand,
    join_uri,
    parent_uri,
    resolve_uri,
)
from orchard.data.mltable.readers import Reader
from orchard.data.mltable.spec import Transformation, parse_spec, read_spec
from orchard.data.mltable.stack import PATH_COLUMN
from orchard.data.mltable.values import Loc


def _where(uri: str) -> Loc:
    return Loc(f"MLTable at {uri}")


class MLTable:
    """A parsed MLTable: where its data lives, and the steps that turn it into one table."""

    def __init__(
        self,
        paths: list[PathEntry],
        transformations: list[Transformation],
        *,
        base_uri: str,
        resolve: Resolver | None = None,
        where: str | None = None,
    ) -> None:
        self.paths = paths
        self.transformations = transformations
        self.base_uri = base_uri
        self._resolve: Resolver = resolve or default_resolver
        self._loc = _where(where or base_uri)

    @classmethod
    def load(cls, uri: str, *, resolve: Resolver | None = None) -> MLTable:
        """Parse the MLTable file at ``uri``: its folder, or the file itself."""
        resolver = resolve or default_resolver
        loc = _where(uri)
        fs, path = resolve_uri(resolver, uri, loc)
        if fs.isdir(path):
            spec_uri, base_uri = join_uri(uri, SPEC_FILE_NAME), uri
        else:
            spec_uri, base_uri = uri, parent_uri(uri)
        spec = read_spec(spec_uri, resolver, loc)
        return cls._from_spec(spec, base_uri, resolver, uri)

    @classmethod
    def from_spec(
        cls, spec: dict[str, Any], base_uri: str, *, resolve: Resolver | None = None
    ) -> MLTable:
        """Build from an already parsed spec; relative paths are taken from ``base_uri``."""
        return cls._from_spec(spec, base_uri, resolve or default_resolver, base_uri)

    @classmethod
    def _from_spec(cls, spec: Any, base_uri: str, resolve: Resolver, where: str) -> MLTable:
        paths, transformations = parse_spec(spec, base_uri, _where(where))
        return cls(paths, transformations, base_uri=base_uri, resolve=resolve, where=where)

    def __repr__(self) -> str:
        counts = f"paths={len(self.paths)}, transformations={len(self.transformations)}"
        return f"MLTable({self.base_uri!r}, {counts})"

    def file_uris(self) -> list[str]:
        """The URIs of the files ``paths`` stands for, in reading order."""
        return [file.uri for file in self._files()]

    def to_arrow_table(self) -> pa.Table:
        files = self._files()
        steps = self._loc.at("transformations")
        table = None
        for index, step in enumerate(self.transformations):
            step_loc = steps.at(index).at(step.name)
            if isinstance(step, Reader):
                table = step.read(files, step_loc)
                continue
            if table is None:
                table = self._path_table(files)
            table = step.apply(table, step_loc)
        return self._path_table(files) if table is None else table

    def to_pandas_dataframe(self) -> pd.DataFrame:
        return cast(pd.DataFrame, self.to_arrow_table().to_pandas())  # pyarrow is untyped

    def _files(self) -> list[File]:
        paths = self._loc.at("paths")
        return [
            file
            for index, entry in enumerate(self.paths)
            for file in expand(entry, self._resolve, paths.at(index))
        ]

    @staticmethod
    def _path_table(files: Sequence[File]) -> pa.Table:
        # Without a read step Azure's MLTable is the list of its files, one Path per row.
        return pa.table({PATH_COLUMN: pa.array([file.uri for file in files], pa.string())})
