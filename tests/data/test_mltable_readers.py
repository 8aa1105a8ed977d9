"""The read steps: read_delimited, read_parquet and read_json_lines, on real files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mltable_helpers import csv_table, error_of, load, make_table

from orchard.data.mltable import (
    PATH_COLUMN,
)

# --------------------------------------------------------------------------- read_delimited


def test_all_files_same_headers_reads_each_header_once(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./*.csv\ntransformations:\n  - read_delimited: {}\n",
        {"a.csv": "x,y\n1,a\n", "b.csv": "x,y\n2,b\n3,c\n"},
    )
    assert load(root).to_pydict() == {"x": [1, 2, 3], "y": ["a", "b", "c"]}


def test_all_files_same_headers_refuses_a_different_header(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./*.csv\ntransformations:\n  - read_delimited: {}\n",
        {"a.csv": "x,y\n1,a\n", "b.csv": "x,z\n2,b\n"},
    )
    assert error_of(root) == (
        f"MLTable at {root}: transformations[0].read_delimited: {root}/b.csv: header "
        "['x', 'z'] differs from the first file's ['x', 'y']; "
        "use header: all_files_different_headers"
    )


def test_from_first_file_reads_later_files_as_data(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./*.csv\n"
        "transformations:\n  - read_delimited: {header: from_first_file}\n",
        {"a.csv": "x,y\n1,a\n", "b.csv": "2,b\n3,c\n"},
    )
    assert load(root).to_pydict() == {"x": [1, 2, 3], "y": ["a", "b", "c"]}


def test_no_header_names_columns_column1_on(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./*.csv\ntransformations:\n  - read_delimited: {header: no_header}\n",
        {"a.csv": "1,a\n", "b.csv": "2,b\n"},
    )
    assert load(root).to_pydict() == {"Column1": [1, 2], "Column2": ["a", "b"]}


def test_all_files_different_headers_unions_columns(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./*.csv\n"
        "transformations:\n  - read_delimited: {header: all_files_different_headers}\n",
        {"a.csv": "x,y\n1,a\n", "b.csv": "z,x\ntrue,2.5\n", "c.csv": ""},
    )
    table = load(root)
    assert table.schema == pa.schema([("x", pa.float64()), ("y", pa.string()), ("z", pa.bool_())])
    assert table.to_pydict() == {"x": [1.0, 2.5], "y": ["a", None], "z": [None, True]}


def test_column_types_that_disagree_between_files_become_text(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./*.csv\ntransformations:\n  - read_delimited: {}\n",
        {"a.csv": "id\n7\n", "b.csv": "id\nA8\n"},
    )
    assert load(root).to_pydict() == {"id": ["7", "A8"]}


def test_delimiter_tab_and_semicolon(tmp_path: Path) -> None:
    tab = csv_table(tmp_path / "tab", '  - read_delimited: {delimiter: "\\t"}\n', "a\tb\n1\tx\n")
    assert load(tab).to_pydict() == {"a": [1], "b": ["x"]}
    semi = csv_table(tmp_path / "semi", "  - read_delimited: {delimiter: ';'}\n", "a;b\n1,5;x\n")
    assert load(semi).to_pydict() == {"a": ["1,5"], "b": ["x"]}


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        ("latin1", "name\ncafé\n".encode("latin-1")),
        ("iso88591", "name\ncafé\n".encode("iso-8859-1")),
        ("windows1252", "name\ncafé €\n".encode("cp1252")),
        ("utf16", "name\ncafé\n".encode("utf-16")),
        ("utf32", "name\ncafé\n".encode("utf-32")),
        ("utf8bom", "name\ncafé\n".encode("utf-8-sig")),
        ("utf8", "name\ncafé\n".encode("utf-8-sig")),
        ("UTF-8", "name\ncafé\n".encode()),
    ],
)
def test_encodings(tmp_path: Path, encoding: str, raw: bytes) -> None:
    root = csv_table(tmp_path, f"  - read_delimited: {{encoding: {encoding}}}\n")
    (root / "data.csv").write_bytes(raw)
    expected = "café €" if encoding == "windows1252" else "café"
    assert load(root).to_pydict() == {"name": [expected]}


def test_ascii_and_undecodable_bytes_name_the_file(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {encoding: ascii}\n")
    (root / "data.csv").write_bytes("name\ncafé\n".encode("latin-1"))
    assert error_of(root) == (
        f"MLTable at {root}: transformations[0].read_delimited: {root}/data.csv: "
        "not valid ascii at byte 8: ordinal not in range(128)"
    )


def test_empty_as_string(tmp_path: Path) -> None:
    data = 'a,b,n\nx,"",1\n,y,\n'
    as_null = csv_table(tmp_path / "null", "  - read_delimited: {empty_as_string: false}\n", data)
    assert load(as_null).to_pydict() == {"a": ["x", None], "b": [None, "y"], "n": [1, None]}
    as_text = csv_table(tmp_path / "text", "  - read_delimited: {empty_as_string: true}\n", data)
    assert load(as_text).to_pydict() == {"a": ["x", ""], "b": ["", "y"], "n": [1, None]}


def test_support_multi_line_reads_quoted_newlines_across_blocks(tmp_path: Path) -> None:
    # Over pyarrow's 1 MiB block size, so values must be kept whole across block boundaries.
    rows = 40_000
    data = "id,note\n" + "".join(f'{i},"first line\nsecond line {i}"\n' for i in range(rows))
    root = csv_table(tmp_path, "  - read_delimited: {support_multi_line: true}\n", data)
    table = load(root)
    assert table.num_rows == rows
    assert table.column("note")[rows - 1].as_py() == f"first line\nsecond line {rows - 1}"


def test_infer_column_types_false_keeps_text(tmp_path: Path) -> None:
    root = csv_table(
        tmp_path, "  - read_delimited: {infer_column_types: false}\n", "zip,n\n007,1\n"
    )
    table = load(root)
    assert table.schema == pa.schema([("zip", pa.string()), ("n", pa.string())])
    assert table.to_pydict() == {"zip": ["007"], "n": ["1"]}


def test_csv_include_path_column_puts_path_first(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./*.csv\n"
        "transformations:\n  - read_delimited: {include_path_column: true}\n",
        {"a.csv": "x\n1\n2\n", "b.csv": "x\n3\n"},
    )
    table = load(root)
    assert table.column_names == [PATH_COLUMN, "x"]
    assert table.column(PATH_COLUMN).to_pylist() == [f"{root}/a.csv"] * 2 + [f"{root}/b.csv"]


def test_bad_csv_row_names_the_file(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {}\n", "a,b\n1,2\n3,4,5\n")
    assert error_of(root) == (
        f"MLTable at {root}: transformations[0].read_delimited: {root}/data.csv: "
        "CSV parse error: Expected 2 columns, got 3: 3,4,5"
    )


def test_duplicate_header_names_are_refused(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {}\n", "a,b,a\n1,2,3\n")
    assert error_of(root) == (
        f"MLTable at {root}: transformations[0].read_delimited: {root}/data.csv: "
        "header repeats column(s) a"
    )


# --------------------------------------------------------------------------- parquet, json


def test_read_parquet_with_path_column(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - folder: ./parts\n"
        "transformations:\n  - read_parquet: {include_path_column: true}\n",
    )
    (root / "parts").mkdir()
    pq.write_table(pa.table({"x": [1, 2], "y": ["a", "b"]}), root / "parts" / "0.parquet")
    pq.write_table(pa.table({"x": [3], "y": ["c"]}), root / "parts" / "1.parquet")
    table = load(root)
    assert table.to_pydict() == {
        PATH_COLUMN: [f"{root}/parts/0.parquet"] * 2 + [f"{root}/parts/1.parquet"],
        "x": [1, 2, 3],
        "y": ["a", "b", "c"],
    }


def test_read_parquet_refuses_a_non_parquet_file(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - file: ./x.parquet\ntransformations:\n  - read_parquet\n",
        {"x.parquet": "not parquet"},
    )
    message = error_of(root)
    assert message.startswith(
        f"MLTable at {root}: transformations[0].read_parquet: {root}/x.parquet: "
        "not a readable Parquet file: "
    )


JSON_LINES = '{"a": 1, "b": "x"}\n\n{"a": 2, "b": "y"}\nnot json\n[1, 2]\n{"a": 3}\n'


def test_read_json_lines_invalid_line_is_an_error_by_default(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - file: ./rows.jsonl\ntransformations:\n  - read_json_lines: {}\n",
        {"rows.jsonl": JSON_LINES},
    )
    assert error_of(root) == (
        f"MLTable at {root}: transformations[0].read_json_lines: {root}/rows.jsonl: "
        "line 4 is not a JSON object: 'not json'"
    )


def test_read_json_lines_drop_skips_invalid_lines(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - file: ./rows.jsonl\n"
        "transformations:\n"
        "  - read_json_lines: {invalid_lines: drop, include_path_column: true}\n",
        {"rows.jsonl": JSON_LINES},
    )
    assert load(root).to_pydict() == {
        PATH_COLUMN: [f"{root}/rows.jsonl"] * 3,
        "a": [1, 2, 3],
        "b": ["x", "y", None],
    }


def test_read_json_lines_encoding(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - file: ./rows.jsonl\n"
        "transformations:\n  - read_json_lines: {encoding: latin1}\n",
        {"rows.jsonl": '{"name": "café"}\n'.encode("latin-1")},
    )
    assert load(root).to_pydict() == {"name": ["café"]}


def test_invalid_utf8_names_the_file(tmp_path: Path) -> None:
    header = csv_table(tmp_path / "header", "  - read_delimited: {}\n", "x\n")
    (header / "data.csv").write_bytes(b"caf\xe9\n1\n")
    assert error_of(header) == (
        f"MLTable at {header}: transformations[0].read_delimited: {header}/data.csv: "
        "not valid utf8: 'utf-8' codec can't decode byte 0xe9 in position 3: "
        "invalid continuation byte"
    )
    body = csv_table(tmp_path / "body", "  - read_delimited: {}\n", "x\n")
    # Past the first read buffer, so pyarrow, not the header parser, meets the bad byte.
    (body / "data.csv").write_bytes(b"name\n" + b"ok\n" * 10_000 + b"caf\xe9\n")
    assert error_of(body) == (
        f"MLTable at {body}: transformations[0].read_delimited: {body}/data.csv: "
        "column 'name' is not valid utf8 text"
    )
