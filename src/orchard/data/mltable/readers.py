"""The read steps: ``read_delimited``, ``read_parquet`` and ``read_json_lines`` to Arrow.

Each reads a list of files into one table: per-file tables are stacked with the union of
their columns, and ``include_path_column`` puts each row's file URI first.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeAlias

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from orchard.data.mltable.paths import File
from orchard.data.mltable.stack import stack
from orchard.data.mltable.values import (
    ENCODINGS,
    Loc,
    check_choice,
    check_encoding,
    check_options,
    option_flag,
)

_HEADER_MODES = (
    "all_files_same_headers",
    "from_first_file",
    "no_header",
    "all_files_different_headers",
)


def _to_utf8(data: bytes, encoding: str, file: File, loc: Loc) -> bytes:
    """Decode with the declared encoding so that pyarrow, which reads UTF-8 only, sees UTF-8."""
    codec = ENCODINGS[encoding]
    if codec == "utf-8-sig":
        # pyarrow checks UTF-8 itself: spare big files a decode and re-encode round trip.
        return data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise loc.error(
            f"{file.uri}: not valid {encoding} at byte {exc.start}: {exc.reason}"
        ) from exc
    return text.encode("utf-8")


def _first_row(data: bytes, delimiter: str) -> list[str] | None:
    """The first non-blank CSV record (pyarrow skips blank lines too), or None if none."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    for row in csv.reader(text, delimiter=delimiter):
        if row:
            return row
    return None


def _unique_names(names: list[str], file: File, loc: Loc) -> list[str]:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise loc.error(f"{file.uri}: header repeats column(s) {', '.join(duplicates)}")
    return names


@dataclass(frozen=True)
class ReadDelimited:
    """``read_delimited``: CSV-like text files."""

    name: ClassVar[str] = "read_delimited"

    delimiter: str = ","
    header: str = "all_files_same_headers"
    encoding: str = "utf8"
    empty_as_string: bool = False
    include_path_column: bool = False
    support_multi_line: bool = False
    infer_column_types: bool = True

    @classmethod
    def parse(cls, args: Any, loc: Loc) -> ReadDelimited:
        opts = check_options(args, loc, [f.name for f in fields(cls)])
        delimiter = opts.get("delimiter", cls.delimiter)
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise loc.at("delimiter").error(f"must be a single character, got {delimiter!r}")
        flags = {
            key: option_flag(opts, key, getattr(cls, key), loc)
            for key in (
                "empty_as_string",
                "include_path_column",
                "support_multi_line",
                "infer_column_types",
            )
        }
        return cls(
            delimiter=delimiter,
            header=check_choice(opts.get("header", cls.header), loc.at("header"), _HEADER_MODES),
            encoding=check_encoding(opts.get("encoding", cls.encoding), loc.at("encoding")),
            **flags,
        )

    def read(self, files: Sequence[File], loc: Loc) -> pa.Table:
        return stack(self._tables(files, loc), self.include_path_column, loc)

    def _tables(self, files: Sequence[File], loc: Loc) -> Iterator[tuple[File, pa.Table]]:
        names: list[str] | None = None  # set by the first file that has any rows
        for file in files:
            data = _to_utf8(file.read_bytes(loc), self.encoding, file, loc)
            try:
                first = _first_row(data, self.delimiter)
            except UnicodeDecodeError as exc:
                raise loc.error(f"{file.uri}: not valid {self.encoding}: {exc}") from exc
            if first is None:
                continue  # an empty file has neither header nor rows
            file_names, has_header = self._layout(first, names, file, loc)
            names = names or file_names
            yield file, self._read_csv(data, file_names, has_header, file, loc)

    def _layout(
        self, first: list[str], names: list[str] | None, file: File, loc: Loc
    ) -> tuple[list[str], bool]:
        """One file's column names, and whether its first record is a header."""
        if self.header == "no_header":
            return names or [f"Column{i + 1}" for i in range(len(first))], False
        if names is None or self.header == "all_files_different_headers":
            return _unique_names(first, file, loc), True
        if self.header == "from_first_file":
            return names, False
        if first != names:
            raise loc.error(
                f"{file.uri}: header {first} differs from the first file's {names}; "
                "use header: all_files_different_headers"
            )
        return names, True

    def _read_csv(
        self, data: bytes, names: list[str], has_header: bool, file: File, loc: Loc
    ) -> pa.Table:
        convert = pa_csv.ConvertOptions(
            column_types=None if self.infer_column_types else dict.fromkeys(names, pa.string()),
            # Only an empty field is missing: "NA" or "null" may be real values.
            null_values=[""],
            strings_can_be_null=not self.empty_as_string,
            quoted_strings_can_be_null=not self.empty_as_string,
        )
        try:
            table = pa_csv.read_csv(
                io.BytesIO(data),
                read_options=pa_csv.ReadOptions(column_names=names, skip_rows=int(has_header)),
                parse_options=pa_csv.ParseOptions(
                    delimiter=self.delimiter, newlines_in_values=self.support_multi_line
                ),
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            raise loc.error(f"{file.uri}: {exc}") from exc
        # pyarrow types text that is not UTF-8 as binary instead of failing; say so instead.
        binary = [field.name for field in table.schema if pa.types.is_binary(field.type)]
        if binary:
            raise loc.error(f"{file.uri}: column {binary[0]!r} is not valid {self.encoding} text")
        return table


@dataclass(frozen=True)
class ReadParquet:
    """``read_parquet``."""

    name: ClassVar[str] = "read_parquet"

    include_path_column: bool = False

    @classmethod
    def parse(cls, args: Any, loc: Loc) -> ReadParquet:
        opts = check_options(args, loc, ["include_path_column"])
        return cls(include_path_column=option_flag(opts, "include_path_column", False, loc))

    def read(self, files: Sequence[File], loc: Loc) -> pa.Table:
        read = ((file, self._read_file(file, loc)) for file in files)
        return stack(read, self.include_path_column, loc)

    @staticmethod
    def _read_file(file: File, loc: Loc) -> pa.Table:
        try:
            with file.fs.open(file.path, "rb") as handle:
                return pq.read_table(handle)
        except (pa.ArrowInvalid, OSError) as exc:
            raise loc.error(f"{file.uri}: not a readable Parquet file: {exc}") from exc


def _invalid_json_lines(data: bytes) -> list[int]:
    """1-based numbers of the non-blank lines that are not JSON objects."""
    bad = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad.append(number)
            continue
        if not isinstance(value, dict):
            bad.append(number)
    return bad


def _drop_lines(data: bytes, numbers: Sequence[int]) -> bytes:
    dropped = set(numbers)
    return b"\n".join(line for n, line in enumerate(data.split(b"\n"), 1) if n not in dropped)


@dataclass(frozen=True)
class ReadJsonLines:
    """``read_json_lines``: one JSON object per line."""

    name: ClassVar[str] = "read_json_lines"

    encoding: str = "utf8"
    include_path_column: bool = False
    invalid_lines: str = "error"  # error or drop

    @classmethod
    def parse(cls, args: Any, loc: Loc) -> ReadJsonLines:
        opts = check_options(args, loc, [f.name for f in fields(cls)])
        return cls(
            encoding=check_encoding(opts.get("encoding", cls.encoding), loc.at("encoding")),
            include_path_column=option_flag(opts, "include_path_column", False, loc),
            invalid_lines=check_choice(
                opts.get("invalid_lines", "error"), loc.at("invalid_lines"), ("error", "drop")
            ),
        )

    def read(self, files: Sequence[File], loc: Loc) -> pa.Table:
        read = ((file, self._read_file(file, loc)) for file in files)
        return stack(read, self.include_path_column, loc)

    def _read_file(self, file: File, loc: Loc) -> pa.Table:
        data = _to_utf8(file.read_bytes(loc), self.encoding, file, loc)
        return self._read_lines(data, file, loc)

    def _read_lines(self, data: bytes, file: File, loc: Loc) -> pa.Table:
        if not data.strip():
            return pa.table({})
        try:
            return pa_json.read_json(io.BytesIO(data))
        except pa.ArrowInvalid as exc:
            # pyarrow names neither the line nor the cause; look for bad lines only on failure.
            bad = _invalid_json_lines(data)
            if not bad:
                raise loc.error(f"{file.uri}: {exc}") from exc
            if self.invalid_lines == "error":
                line = data.split(b"\n")[bad[0] - 1].decode("utf-8", "replace")[:80]
                raise loc.error(
                    f"{file.uri}: line {bad[0]} is not a JSON object: {line!r}"
                ) from exc
        return self._read_lines(_drop_lines(data, bad), file, loc)


Reader: TypeAlias = ReadDelimited | ReadParquet | ReadJsonLines
