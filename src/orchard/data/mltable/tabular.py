"""``read_tabular``: a ``uri_file``, ``uri_folder`` or ``mltable`` location as one table."""

from __future__ import annotations

import posixpath

import pyarrow as pa

from orchard.data.mltable.paths import (
    SPEC_FILE_NAME,
    File,
    Resolver,
    default_resolver,
    folder_files,
    join_uri,
    resolve_uri,
)
from orchard.data.mltable.readers import ReadDelimited, Reader, ReadJsonLines, ReadParquet
from orchard.data.mltable.stack import unify
from orchard.data.mltable.table import MLTable
from orchard.data.mltable.values import Loc

_FORMATS: dict[str, Reader] = {
    ".csv": ReadDelimited(),
    ".tsv": ReadDelimited(delimiter="\t"),
    ".parquet": ReadParquet(),
    ".pq": ReadParquet(),
    ".jsonl": ReadJsonLines(),
    ".ndjson": ReadJsonLines(),
    ".json": ReadJsonLines(),  # read as JSON lines: one object per line
}


def _reader_for(path: str) -> Reader | None:
    return _FORMATS.get(posixpath.splitext(path)[1].lower())


def _is_supported(path: str) -> bool:
    return _reader_for(path) is not None


def read_tabular(uri: str, *, resolve: Resolver | None = None) -> pa.Table:
    """Read a ``uri_file``/``uri_folder``/``mltable`` location into one table.

    A file is read by its extension; a folder holding an MLTable file is an MLTable;
    any other folder is every supported file below it, stacked.
    """
    resolver = resolve or default_resolver
    loc = Loc(f"Data at {uri}")
    fs, path = resolve_uri(resolver, uri, loc)
    if fs.isdir(path):
        spec_fs, spec_path = resolve_uri(resolver, join_uri(uri, SPEC_FILE_NAME), loc)
        if spec_fs.isfile(spec_path):
            return MLTable.load(uri, resolve=resolver).to_arrow_table()
        files = folder_files(uri, fs, path, _is_supported)
        if not files:
            raise loc.error(f"no {', '.join(_FORMATS)} files in the folder")
    elif fs.isfile(path):
        if posixpath.basename(path) == SPEC_FILE_NAME:
            return MLTable.load(uri, resolve=resolver).to_arrow_table()
        if not _is_supported(path):
            raise loc.error(f"cannot tell the format; expected one of {', '.join(_FORMATS)}")
        files = [File(uri, fs, path)]
    else:
        raise loc.error("no such file or folder")
    return unify([_read_one(file, loc) for file in files], loc)


def _read_one(file: File, loc: Loc) -> pa.Table:
    reader = _reader_for(file.path)
    assert reader is not None  # callers only pass files with a known extension
    return reader.read([file], loc)
