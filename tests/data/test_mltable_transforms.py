"""The row and column steps after the read: take, skip, columns, conversions, sampling."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from mltable_helpers import csv_table, error_of, load

# --------------------------------------------------------------------------- row and column steps


def test_take_and_skip_apply_in_order(tmp_path: Path) -> None:
    root = csv_table(tmp_path / "a", "  - read_delimited: {}\n  - skip: 1\n  - take: 2\n")
    assert load(root).column("id").to_pylist() == [2, 3]
    root = csv_table(tmp_path / "b", "  - read_delimited: {}\n  - take: 2\n  - skip: 1\n")
    assert load(root).column("id").to_pylist() == [2]
    root = csv_table(tmp_path / "c", "  - read_delimited: {}\n  - skip: 10\n")
    assert load(root).num_rows == 0
    root = csv_table(tmp_path / "d", "  - read_delimited: {}\n  - take: 0\n")
    assert load(root).num_rows == 0


def test_drop_columns_takes_a_name_or_a_list(tmp_path: Path) -> None:
    root = csv_table(tmp_path / "a", "  - read_delimited: {}\n  - drop_columns: name\n")
    assert load(root).column_names == ["id", "score"]
    root = csv_table(tmp_path / "b", "  - read_delimited: {}\n  - drop_columns: [id, score]\n")
    assert load(root).column_names == ["name"]


def test_keep_columns_keeps_table_order(tmp_path: Path) -> None:
    root = csv_table(tmp_path / "a", "  - read_delimited: {}\n  - keep_columns: [score, id]\n")
    assert load(root).to_pydict() == {"id": [1, 2, 3, 4], "score": [1.5, 2.5, 3.5, 4.5]}
    root = csv_table(tmp_path / "b", "  - read_delimited: {}\n  - keep_columns: name\n")
    assert load(root).column_names == ["name"]


def test_unknown_column_is_named(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {}\n  - drop_columns: [id, nmae]\n")
    assert error_of(root) == (
        f"MLTable at {root}: transformations[1].drop_columns: no column(s) 'nmae'; "
        "the table has id, name, score"
    )


CONVERT_DATA = "i,f,b,d,t,s\n 7 ,1,yes,2024-01-02,03/04/2024,1\n8,2.5,no,,12/31/2023,\n"


def test_convert_column_types_every_kind(tmp_path: Path) -> None:
    root = csv_table(
        tmp_path,
        """\
          - read_delimited: {infer_column_types: false}
          - convert_column_types:
              - columns: i
                column_type: int
              - columns: [f]
                column_type: float
              - columns: b
                column_type:
                  boolean: {true_values: ["yes"], false_values: ["no"]}
              - columns: d
                column_type: datetime
              - columns: t
                column_type: {datetime: {formats: ["%Y-%m-%d", "%m/%d/%Y"]}}
          - convert_column_types:
              - columns: s
                column_type: int
              - columns: s
                column_type: string
        """,
        CONVERT_DATA,
    )
    table = load(root)
    assert table.schema == pa.schema(
        [
            ("i", pa.int64()),
            ("f", pa.float64()),
            ("b", pa.bool_()),
            ("d", pa.timestamp("us")),
            ("t", pa.timestamp("us")),
            ("s", pa.string()),
        ]
    )
    assert table.to_pydict() == {
        "i": [7, 8],
        "f": [1.0, 2.5],
        "b": [True, False],
        "d": [dt.datetime(2024, 1, 2), None],
        "t": [dt.datetime(2024, 3, 4), dt.datetime(2023, 12, 31)],
        "s": ["1", None],
    }


def test_boolean_defaults_and_mismatch_as(tmp_path: Path) -> None:
    data = "v,n\ntrue,1\nFALSE,0\nmaybe,1\n,\n"
    steps = "  - read_delimited: {}\n  - convert_column_types:\n      - columns: [v, n]\n"
    cases = {
        "true": [True, False, True, None],
        "false": [True, False, False, None],
    }
    for mismatch, expected in cases.items():
        root = csv_table(
            tmp_path / mismatch,
            steps + f"        column_type: {{boolean: {{mismatch_as: '{mismatch}'}}}}\n",
            data,
        )
        assert load(root).to_pydict() == {"v": expected, "n": [True, False, True, None]}
    root = csv_table(tmp_path / "error", steps + "        column_type: boolean\n", data)
    assert error_of(root) == (
        f"MLTable at {root}: transformations[1].convert_column_types[0]: column 'v': "
        "'maybe' is neither a true value (true, True, TRUE, 1) "
        "nor a false value (false, False, FALSE, 0)"
    )


@pytest.mark.parametrize(
    ("data", "column_type", "message"),
    [
        ("c\n1\nten\n", "int", "column 'c': cannot convert 'ten' to int"),
        ("c\n1.5\n2\n", "int", "column 'c': cannot convert 1.5 to int"),
        ("c\n1.5\nabc\n", "float", "column 'c': cannot convert 'abc' to float"),
        ("c\n2024-01-01\nsoon\n", "datetime", "column 'c': cannot convert 'soon' to datetime"),
        (
            "c\n2024-01-01\n01.02.2024\n",
            "{datetime: {formats: ['%Y-%m-%d']}}",
            "column 'c': '01.02.2024' matches none of the formats %Y-%m-%d",
        ),
        ("c\ntrue\n", "datetime", "column 'c': cannot convert bool values to datetime"),
    ],
)
def test_conversion_failures_name_column_and_value(
    tmp_path: Path, data: str, column_type: str, message: str
) -> None:
    root = csv_table(
        tmp_path,
        "  - read_delimited: {}\n  - convert_column_types:\n"
        f"      - columns: c\n        column_type: {column_type}\n",
        data,
    )
    assert error_of(root) == (
        f"MLTable at {root}: transformations[1].convert_column_types[0]: {message}"
    )


def test_take_random_sample_is_repeatable_with_a_seed(tmp_path: Path) -> None:
    data = "n\n" + "".join(f"{i}\n" for i in range(1000))
    step = "  - read_delimited: {}\n  - take_random_sample: {probability: %s, seed: 42}\n"
    root = csv_table(tmp_path / "half", step % 0.5, data)
    first = load(root).column("n").to_pylist()
    assert first == load(root).column("n").to_pylist()
    assert 400 < len(first) < 600
    assert first == sorted(set(first))  # a subset, in the original order
    assert load(csv_table(tmp_path / "none", step % 0, data)).num_rows == 0
    assert load(csv_table(tmp_path / "all", step % 1, data)).num_rows == 1000
