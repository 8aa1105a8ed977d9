"""Read Azure ML ``MLTable`` folders, and plain tabular files, into Arrow and pandas.

An ``mltable`` data asset is a folder holding a YAML file named ``MLTable`` that lists
``paths`` (files, folders, glob patterns) and ``transformations`` (one read step first,
then row and column steps). Azure's own ``mltable`` package needs its cloud runtime, so
Orchard implements the same semantics on pyarrow.

Every file access goes through a *resolver*: a function mapping a URI to an fsspec
filesystem and a path inside it. Orchard's storage layer passes one that understands
``azureml://`` datastore URIs; the default handles local paths and the URL schemes that
fsspec knows. Relative entries in ``paths`` are joined to the MLTable's own URI first.

The modules, in the order a read goes through them:

- ``values``: the error type, where in a spec a problem is, checks for single values
- ``paths``: resolvers, and ``paths`` entries expanded to files
- ``spec``: the MLTable YAML checked into path entries and transformations
- ``readers`` and ``stack``: the read steps, and stacking per-file tables into one
- ``transforms`` and ``column_types``: the row and column steps
- ``table``: the ``MLTable`` class; ``tabular``: ``read_tabular`` for any data location
"""

from __future__ import annotations

from orchard.data.mltable.column_types import ColumnType
from orchard.data.mltable.paths import SPEC_FILE_NAME, PathEntry, Resolver, default_resolver
from orchard.data.mltable.readers import ReadDelimited, ReadJsonLines, ReadParquet
from orchard.data.mltable.spec import Transformation
from orchard.data.mltable.stack import PATH_COLUMN
from orchard.data.mltable.table import MLTable
from orchard.data.mltable.tabular import read_tabular
from orchard.data.mltable.transforms import (
    ColumnConversion,
    ConvertColumnTypes,
    DropColumns,
    KeepColumns,
    Skip,
    Take,
    TakeRandomSample,
)
from orchard.data.mltable.values import MLTableError

__all__ = [
    "PATH_COLUMN",
    "SPEC_FILE_NAME",
    "ColumnConversion",
    "ColumnType",
    "ConvertColumnTypes",
    "DropColumns",
    "KeepColumns",
    "MLTable",
    "MLTableError",
    "PathEntry",
    "ReadDelimited",
    "ReadJsonLines",
    "ReadParquet",
    "Resolver",
    "Skip",
    "Take",
    "TakeRandomSample",
    "Transformation",
    "default_resolver",
    "read_tabular",
]
