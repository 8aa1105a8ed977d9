"""The row and column steps that follow the read step.

``take``, ``skip``, ``drop_columns``, ``keep_columns``, ``convert_column_types`` and
``take_random_sample``: each parses its arguments from the spec and applies to a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from orchard.data.mltable.column_types import ColumnType
from orchard.data.mltable.values import Loc, check_count, check_options, check_strings


def _require_columns(table: pa.Table, names: Sequence[str], loc: Loc) -> None:
    missing = [name for name in names if name not in table.column_names]
    if missing:
        raise loc.error(
            f"no column(s) {', '.join(map(repr, missing))}; "
            f"the table has {', '.join(table.column_names) or 'no columns'}"
        )


@dataclass(frozen=True)
class _RowCountStep:
    """A step whose argument is a number of rows."""

    count: int

    @classmethod
    def parse(cls, args: Any, loc: Loc) -> Self:
        return cls(check_count(args, loc))


@dataclass(frozen=True)
class Take(_RowCountStep):
    """``take: n`` keeps the first n rows."""

    name: ClassVar[str] = "take"

    def apply(self, table: pa.Table, loc: Loc) -> pa.Table:
        return table.slice(0, self.count)


@dataclass(frozen=True)
class Skip(_RowCountStep):
    """``skip: n`` drops the first n rows."""

    name: ClassVar[str] = "skip"

    def apply(self, table: pa.Table, loc: Loc) -> pa.Table:
        return table.slice(min(self.count, table.num_rows))


@dataclass(frozen=True)
class _ColumnsStep:
    """A step whose argument is a column name or a list of them, all of which must exist."""

    columns: tuple[str, ...]

    @classmethod
    def parse(cls, args: Any, loc: Loc) -> Self:
        return cls(check_strings(args, loc))


@dataclass(frozen=True)
class DropColumns(_ColumnsStep):
    """``drop_columns``: every named column must exist, so a typo is not silently kept."""

    name: ClassVar[str] = "drop_columns"

    def apply(self, table: pa.Table, loc: Loc) -> pa.Table:
        _require_columns(table, self.columns, loc)
        return table.drop_columns(list(dict.fromkeys(self.columns)))


@dataclass(frozen=True)
class KeepColumns(_ColumnsStep):
    """``keep_columns``: the named columns stay, in the table's own order."""

    name: ClassVar[str] = "keep_columns"

    def apply(self, table: pa.Table, loc: Loc) -> pa.Table:
        _require_columns(table, self.columns, loc)
        return table.select([name for name in table.column_names if name in self.columns])


@dataclass(frozen=True)
class ColumnConversion:
    columns: tuple[str, ...]
    column_type: ColumnType


@dataclass(frozen=True)
class ConvertColumnTypes:
    """``convert_column_types``: a list of ``{columns, column_type}``, applied in order."""

    name: ClassVar[str] = "convert_column_types"

    conversions: tuple[ColumnConversion, ...]

    @classmethod
    def parse(cls, args: Any, loc: Loc) -> ConvertColumnTypes:
        items = [args] if isinstance(args, dict) else args
        if not isinstance(items, list) or not items:
            raise loc.error(f"must be a non-empty list of {{columns, column_type}}, got {args!r}")
        return cls(tuple(cls._parse_item(item, loc.at(i)) for i, item in enumerate(items)))

    @staticmethod
    def _parse_item(item: Any, loc: Loc) -> ColumnConversion:
        opts = check_options(item, loc, ["columns", "column_type"])
        for key in ("columns", "column_type"):
            if key not in opts:
                raise loc.error(f"{key} is required")
        return ColumnConversion(
            check_strings(opts["columns"], loc.at("columns")),
            ColumnType.parse(opts["column_type"], loc.at("column_type")),
        )

    def apply(self, table: pa.Table, loc: Loc) -> pa.Table:
        for index, conversion in enumerate(self.conversions):
            item_loc = loc.at(index)
            _require_columns(table, conversion.columns, item_loc.at("columns"))
            for name in conversion.columns:
                position = table.column_names.index(name)
                converted = conversion.column_type.convert(table.column(position), name, item_loc)
                table = table.set_column(position, pa.field(name, converted.type), converted)
        return table


@dataclass(frozen=True)
class TakeRandomSample:
    """``take_random_sample``: keep each row with ``probability``; a seed makes it repeatable."""

    name: ClassVar[str] = "take_random_sample"

    probability: float
    seed: int | None = None

    @classmethod
    def parse(cls, args: Any, loc: Loc) -> TakeRandomSample:
        opts = check_options(args, loc, ["probability", "seed"])
        probability = opts.get("probability")
        if (
            isinstance(probability, bool)
            or not isinstance(probability, int | float)
            or not 0 <= probability <= 1
        ):
            raise loc.at("probability").error(f"must be a number from 0 to 1, got {probability!r}")
        seed = opts.get("seed")
        return cls(float(probability), None if seed is None else check_count(seed, loc.at("seed")))

    def apply(self, table: pa.Table, loc: Loc) -> pa.Table:
        if table.num_rows == 0:
            return table
        draws = pc.random(table.num_rows, initializer="system" if self.seed is None else self.seed)
        return table.filter(pc.less(draws, self.probability))


Step: TypeAlias = Take | Skip | DropColumns | KeepColumns | ConvertColumnTypes | TakeRandomSample
