"""Reading data assets as tables, and profiling them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchard.entities.assets import Data
from orchard.services.files import FileService

if TYPE_CHECKING:  # pyarrow and pandas load only when a table is asked for
    import pyarrow as pa

    from orchard.data.profile import DataProfile


class TableService:
    def __init__(self, files: FileService) -> None:
        self.files = files

    def read(self, workspace: str, data: Data) -> pa.Table:
        """A data asset as an Arrow table, MLTable transformations applied."""
        from orchard.data.mltable import MLTable, read_tabular

        resolve = self.files.resolver(workspace)
        if data.type == "mltable":
            return MLTable.load(data.path, resolve=resolve).to_arrow_table()
        return read_tabular(data.path, resolve=resolve)

    def profile(self, workspace: str, data: Data) -> DataProfile:
        from orchard.data.profile import profile_table

        return profile_table(self.read(workspace, data))
