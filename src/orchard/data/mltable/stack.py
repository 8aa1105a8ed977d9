"""Stacking the tables read from several files into one.

Columns are the union over the files, each typed to fit every file's values; a file's
rows can carry its URI in a ``Path`` column, as Azure's ``include_path_column`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa

from orchard.data.mltable.paths import File
from orchard.data.mltable.values import Loc

PATH_COLUMN = "Path"  # the column Azure adds for include_path_column


def _with_path(table: pa.Table, file: File, loc: Loc) -> pa.Table:
    if PATH_COLUMN in table.column_names:
        raise loc.error(f"{file.uri} already has a column named {PATH_COLUMN!r}")
    return table.add_column(0, PATH_COLUMN, pa.repeat(pa.scalar(file.uri), table.num_rows))


def _common_field(name: str, tables: Sequence[pa.Table]) -> pa.Field:
    types = [t.schema.field(name).type for t in tables if name in t.column_names]
    try:
        schemas = [pa.schema([pa.field(name, kind)]) for kind in types]
        return pa.unify_schemas(schemas, promote_options="permissive").field(name)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # e.g. one file's ids all look like numbers and another's do not: text holds both.
        return pa.field(name, pa.string())


def _conform(table: pa.Table, schema: pa.Schema, loc: Loc) -> pa.Table:
    columns = []
    for target in schema:
        if target.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, target.type))
            continue
        try:
            columns.append(table[target.name].cast(target.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise loc.error(f"column {target.name!r} differs in type between files: {exc}") from exc
    return pa.Table.from_arrays(columns, schema=schema)


def unify(tables: Sequence[pa.Table], loc: Loc) -> pa.Table:
    """Stack per-file tables: columns are the union, types widened to fit every file."""
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    names = list(dict.fromkeys(name for table in tables for name in table.column_names))
    schema = pa.schema([_common_field(name, tables) for name in names])
    return pa.concat_tables([_conform(table, schema, loc) for table in tables])


def stack(read: Iterable[tuple[File, pa.Table]], include_path_column: bool, loc: Loc) -> pa.Table:
    """:func:`unify` the files' tables, each with its ``Path`` column first when asked for."""
    tables = [
        _with_path(table, file, loc) if include_path_column else table for file, table in read
    ]
    return unify(tables, loc)
