"""``column_type`` values of ``convert_column_types``, and converting an Arrow column to one.

Text is trimmed and blank text is missing before it becomes a number or a date; a value
that does not convert is named in the error, never silently made missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from orchard.data.mltable.values import (
    Loc,
    check_choice,
    check_options,
    check_strings,
    single_key,
)

_COLUMN_KINDS = ("int", "float", "string", "boolean", "datetime")
_DEFAULT_TRUE = ("true", "True", "TRUE", "1")
_DEFAULT_FALSE = ("false", "False", "FALSE", "0")


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _clean_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim text and make blanks missing: " 7" is 7, and "" is no number at all."""
    if not _is_text(column.type):
        return column
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def _first_uncastable(column: pa.ChunkedArray, target: pa.DataType) -> Any:
    for value in pc.unique(column.drop_null()):
        try:
            value.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return value.as_py()
    return None


def _first_where(column: pa.ChunkedArray, mask: pa.ChunkedArray) -> Any:
    return column.filter(mask)[0].as_py()


def _cast(
    column: pa.ChunkedArray, target: pa.DataType, kind: str, name: str, loc: Loc
) -> pa.ChunkedArray:
    try:
        return pc.cast(column, target)
    except pa.ArrowNotImplementedError as exc:
        raise loc.error(f"column {name!r}: cannot convert {column.type} values to {kind}") from exc
    except pa.ArrowInvalid as exc:
        bad = _first_uncastable(column, target)
        raise loc.error(f"column {name!r}: cannot convert {bad!r} to {kind}") from exc


@dataclass(frozen=True)
class ColumnType:
    """A ``column_type``: int, float, string, boolean or datetime, with their options."""

    kind: str
    true_values: tuple[str, ...] = _DEFAULT_TRUE
    false_values: tuple[str, ...] = _DEFAULT_FALSE
    mismatch_as: str = "error"  # error, true or false
    formats: tuple[str, ...] = ()  # strptime formats; none means ISO 8601

    @classmethod
    def parse(cls, value: Any, loc: Loc) -> ColumnType:
        if isinstance(value, str):
            return cls(check_choice(value, loc, _COLUMN_KINDS))
        kind, args = single_key(value, loc, f"of {', '.join(_COLUMN_KINDS)}")
        if kind == "boolean":
            return cls._parse_boolean(args, loc.at("boolean"))
        if kind == "datetime":
            opts = check_options(args, loc.at("datetime"), ["formats"])
            formats = opts.get("formats")
            if formats is None:
                return cls("datetime")
            formats_loc = loc.at("datetime.formats")
            return cls("datetime", formats=check_strings(formats, formats_loc, "format"))
        if args is not None:
            raise loc.at(kind).error(f"takes no options, got {args!r}")
        return cls(check_choice(kind, loc, _COLUMN_KINDS))

    @classmethod
    def _parse_boolean(cls, args: Any, loc: Loc) -> ColumnType:
        opts = check_options(args, loc, ["true_values", "false_values", "mismatch_as"])

        def texts(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            # YAML reads unquoted yes/no/on/off as booleans, which would never match text.
            hint = " (quote yes, no, on and off)"
            return check_strings(opts.get(key, list(default)), loc.at(key), "string", hint)

        return cls(
            "boolean",
            true_values=texts("true_values", _DEFAULT_TRUE),
            false_values=texts("false_values", _DEFAULT_FALSE),
            mismatch_as=check_choice(
                opts.get("mismatch_as", "error"), loc.at("mismatch_as"), ("error", "true", "false")
            ),
        )

    def convert(self, column: pa.ChunkedArray, name: str, loc: Loc) -> pa.ChunkedArray:
        if self.kind == "int":
            return _cast(_clean_text(column), pa.int64(), "int", name, loc)
        if self.kind == "float":
            return _cast(_clean_text(column), pa.float64(), "float", name, loc)
        if self.kind == "string":
            return _cast(column, pa.string(), "string", name, loc)
        if self.kind == "boolean":
            return self._to_boolean(column, name, loc)
        return self._to_datetime(column, name, loc)

    def _to_boolean(self, column: pa.ChunkedArray, name: str, loc: Loc) -> pa.ChunkedArray:
        if pa.types.is_boolean(column.type):
            return column
        # Matching the text form lets one rule cover "yes"/"no" strings and 1/0 numbers.
        text = _clean_text(_cast(column, pa.string(), "boolean", name, loc))
        is_true = pc.is_in(text, value_set=pa.array(self.true_values, pa.string()))
        is_false = pc.is_in(text, value_set=pa.array(self.false_values, pa.string()))
        mismatch = pc.and_(pc.is_valid(text), pc.invert(pc.or_(is_true, is_false)))
        if self.mismatch_as == "error" and pc.any(mismatch).as_py():
            raise loc.error(
                f"column {name!r}: {_first_where(text, mismatch)!r} is neither a true value "
                f"({', '.join(self.true_values)}) "
                f"nor a false value ({', '.join(self.false_values)})"
            )
        missing = pa.scalar(None, pa.bool_())
        result = pc.if_else(is_true, True, pc.if_else(is_false, False, missing))
        if self.mismatch_as == "error":
            return result
        return pc.if_else(mismatch, self.mismatch_as == "true", result)

    def _to_datetime(self, column: pa.ChunkedArray, name: str, loc: Loc) -> pa.ChunkedArray:
        if pa.types.is_timestamp(column.type):
            return column
        if pa.types.is_date(column.type) or not self.formats:
            return _cast(_clean_text(column), pa.timestamp("us"), "datetime", name, loc)
        if not _is_text(column.type):
            raise loc.error(f"column {name!r}: cannot convert {column.type} values to datetime")
        text = _clean_text(column)
        parsed = [
            pc.strptime(text, format=fmt, unit="us", error_is_null=True) for fmt in self.formats
        ]
        result = pc.coalesce(*parsed)
        failed = pc.and_(pc.is_valid(text), pc.is_null(result))
        if pc.any(failed).as_py():
            raise loc.error(
                f"column {name!r}: {_first_where(text, failed)!r} matches none of the formats "
                f"{', '.join(self.formats)}"
            )
        return result
