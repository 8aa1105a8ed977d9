"""Splitting the input into mini-batches, as Azure's ParallelRunStep does.

File input (uri_file, uri_folder): a mini-batch is a list of file paths, a number of
files each or files grouped up to a byte budget. Tabular input (mltable, or a folder of
csv/parquet files read as a table): a mini-batch is a pandas DataFrame of about a number
of bytes, or of one combination of the partition keys. Payloads are built only when a
batch is handed to a worker, so a large table is not held twice as DataFrames.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from orchard.parallel.sizes import DEFAULT_FILES, DEFAULT_TABULAR_BYTES, BatchSize

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

FILE_TYPES = ("uri_file", "uri_folder")
TABULAR_TYPES = ("mltable",)


class InputError(ValueError):
    """The input cannot be split as asked; the message names the flag or file."""


@dataclass(frozen=True)
class MiniBatch:
    index: int
    items: int  # files or rows: what error_threshold counts
    partition_key_value: dict[str, Any] | None = None


class Batches(Protocol):
    def __len__(self) -> int: ...

    def describe(self, index: int) -> MiniBatch: ...

    def payload(self, index: int) -> Any: ...


class FileBatches:
    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.groups = [list(group) for group in groups]

    def __len__(self) -> int:
        return len(self.groups)

    def describe(self, index: int) -> MiniBatch:
        return MiniBatch(index, len(self.groups[index]))

    def payload(self, index: int) -> list[str]:
        return list(self.groups[index])


class SlicedTable:
    """Consecutive rows of one table, `rows` at a time."""

    def __init__(self, table: pa.Table, rows: int) -> None:
        self.table, self.rows = table, rows

    def __len__(self) -> int:
        rows: int = self.table.num_rows
        return -(-rows // self.rows)

    def describe(self, index: int) -> MiniBatch:
        return MiniBatch(index, min(self.rows, self.table.num_rows - index * self.rows))

    def payload(self, index: int) -> pd.DataFrame:
        frame: pd.DataFrame = self.table.slice(index * self.rows, self.rows).to_pandas()
        return frame


class PartitionedTable:
    """One mini-batch per distinct combination of the partition keys, in key order."""

    def __init__(self, frame: pd.DataFrame, keys: Sequence[str]) -> None:
        self.frame, self.keys = frame, list(keys)
        grouped = frame.groupby(self.keys, sort=True, dropna=False).indices
        self.groups = [(_key_tuple(key), rows) for key, rows in grouped.items()]

    def __len__(self) -> int:
        return len(self.groups)

    def describe(self, index: int) -> MiniBatch:
        key, rows = self.groups[index]
        value = {name: _plain(part) for name, part in zip(self.keys, key)}
        return MiniBatch(index, len(rows), value)

    def payload(self, index: int) -> pd.DataFrame:
        return self.frame.iloc[self.groups[index][1]].reset_index(drop=True)


def plan(
    input_data: str,
    input_type: str,
    size: BatchSize | None = None,
    partition_keys: Sequence[str] | None = None,
) -> Batches:
    """The mini-batches of `input_data`, read as `input_type` says."""
    if size is not None and partition_keys:
        raise InputError("--mini-batch-size and --partition-keys are mutually exclusive")
    if input_type in FILE_TYPES:
        if partition_keys:
            raise InputError("--partition-keys: only tabular (mltable) input can be partitioned")
        return file_batches(list_files(input_data), size)
    if input_type in TABULAR_TYPES:
        return tabular_batches(input_data, size, partition_keys)
    known = ", ".join((*FILE_TYPES, *TABULAR_TYPES))
    raise InputError(f"--input-type: {input_type!r} is not one of {known}")


def list_files(input_data: str) -> list[str]:
    path = Path(input_data)
    if path.is_file():
        return [str(path.resolve())]
    if not path.is_dir():
        raise InputError(f"--input-data: no such file or folder: {input_data}")
    found = sorted(
        os.path.join(folder, name) for folder, _, names in os.walk(path.resolve()) for name in names
    )
    if not found:
        raise InputError(f"--input-data: the folder {input_data} holds no files")
    return found


def file_batches(files: Sequence[str], size: BatchSize | None) -> FileBatches:
    if size is None or not size.by_bytes:
        count = size.amount if size is not None else DEFAULT_FILES
        return FileBatches([files[i : i + count] for i in range(0, len(files), count)])
    budget, groups = size.as_bytes(), []
    current: list[str] = []
    used = 0
    for file in files:
        file_bytes = os.path.getsize(file)
        # A file bigger than the budget still gets a batch of its own.
        if current and used + file_bytes > budget:
            groups.append(current)
            current, used = [], 0
        current.append(file)
        used += file_bytes
    if current:
        groups.append(current)
    return FileBatches(groups)


def tabular_batches(
    input_data: str, size: BatchSize | None, partition_keys: Sequence[str] | None
) -> Batches:
    if sys.version_info < (3, 10):
        raise InputError(
            f"--input-type {TABULAR_TYPES[0]}: reading a table needs Python 3.10 or later in "
            f"the step's environment (it has {sys.version.split()[0]}); pin python=3.10 or "
            "later in its conda file, or read the files as uri_folder"
        )
    from orchard.data.mltable import MLTableError, read_tabular

    try:
        table = read_tabular(input_data)
    except MLTableError as error:
        raise InputError(f"--input-data: {error}") from error
    if partition_keys:
        missing = [key for key in partition_keys if key not in table.column_names]
        if missing:
            raise InputError(
                f"--partition-keys: no column {', '.join(map(repr, missing))} in "
                f"{input_data} (it has {', '.join(table.column_names)})"
            )
        return PartitionedTable(table.to_pandas(), partition_keys)
    budget = size.as_bytes() if size is not None else DEFAULT_TABULAR_BYTES
    # Rows are sized by the table's average: a mini-batch is "about" the budget, as on Azure.
    row_bytes = max(1, table.nbytes // max(1, table.num_rows))
    return SlicedTable(table, max(1, budget // row_bytes))


def _key_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, so a context's partition_key_value reads plainly."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
