"""MLTable specs: loading a folder or file, the parsed spec, and errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from mltable_helpers import PEOPLE, csv_table, load, make_table

from orchard.data.mltable import (
    PATH_COLUMN,
    ConvertColumnTypes,
    MLTable,
    MLTableError,
    PathEntry,
    ReadDelimited,
    Take,
)
from orchard.errors import ValidationError

# --------------------------------------------------------------------------- loading


def test_load_reads_a_folder_with_inferred_types(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "people",
        """\
        $schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json
        type: mltable
        paths:
          - file: ./data/people.csv
        transformations:
          - read_delimited:
              delimiter: ','
              header: all_files_same_headers
              encoding: utf8
        traits:
          index_columns: [id]
        metadata:
          owner: data-team
        """,
        {"data/people.csv": PEOPLE},
    )
    table = load(root)
    assert table.schema == pa.schema(
        [("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())]
    )
    assert table.to_pydict() == {
        "id": [1, 2, 3, 4],
        "name": ["ann", "bob", "cy", "dee"],
        "score": [1.5, 2.5, 3.5, 4.5],
    }


def test_load_accepts_the_mltable_file_itself(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {}\n")
    table = MLTable.load(str(root / "MLTable")).to_arrow_table()
    assert table.num_rows == 4


def test_to_pandas_dataframe_keeps_types(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {}\n")
    frame = MLTable.load(str(root)).to_pandas_dataframe()
    assert list(frame.columns) == ["id", "name", "score"]
    assert frame["id"].dtype == "int64"
    assert frame["score"].dtype == "float64"
    assert pd.api.types.is_string_dtype(frame["name"])
    assert frame["name"].tolist() == ["ann", "bob", "cy", "dee"]


def test_parsed_paths_and_transformations_are_exposed(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {delimiter: ';'}\n  - take: 2\n")
    table = MLTable.load(str(root))
    assert table.paths == [PathEntry("file", "./data.csv", f"{root}/data.csv")]
    assert table.transformations == [ReadDelimited(delimiter=";"), Take(2)]


def test_from_spec_joins_relative_paths_to_the_base(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text(PEOPLE)
    spec = {"paths": [{"file": "data.csv"}], "transformations": [{"take": 1}, "skip"]}
    with pytest.raises(MLTableError) as info:
        MLTable.from_spec(spec, str(tmp_path))
    # "skip" bare is a transformation name with no argument, and skip needs a count.
    assert str(info.value) == (
        f"MLTable at {tmp_path}: transformations[1].skip: must be a non-negative integer, got None"
    )
    spec = {"paths": [{"file": "data.csv"}], "transformations": ["read_delimited", {"take": 1}]}
    table = MLTable.from_spec(spec, str(tmp_path)).to_arrow_table()
    assert table.to_pydict() == {"id": [1], "name": ["ann"], "score": [1.5]}


def test_without_a_read_step_the_table_lists_the_files(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t", "paths:\n  - folder: ./data\n", {"data/a.bin": "x", "data/b.bin": "y"}
    )
    assert load(root).to_pydict() == {PATH_COLUMN: [f"{root}/data/a.bin", f"{root}/data/b.bin"]}


# --------------------------------------------------------------------------- spec errors


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "paths: [{file: a.csv}]\ncolumns: []\n",
            "unknown top-level key(s) columns; expected "
            "$schema, type, paths, transformations, traits, metadata",
        ),
        ("type: uri_file\npaths: [{file: a.csv}]\n", "type: must be 'mltable', got 'uri_file'"),
        ("type: mltable\n", "paths: is required"),
        ("paths: []\n", "paths: must be a non-empty list of file, folder or pattern entries"),
        (
            "paths: [{url: a.csv}]\n",
            "paths[0]: unknown path kind 'url'; expected file, folder or pattern",
        ),
        ("paths: [{file: 3}]\n", "paths[0].file: must be a non-empty path, got 3"),
        (
            "paths: [{file: a.csv}]\ntransformations: [{take: ten}]\n",
            "transformations[0].take: must be a non-negative integer, got 'ten'",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [read_delimited, {take: -1}]\n",
            "transformations[1].take: must be a non-negative integer, got -1",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{filter: x > 1}]\n",
            "transformations[0]: unknown transformation 'filter'; expected one of read_delimited, "
            "read_parquet, read_json_lines, take, skip, drop_columns, keep_columns, "
            "convert_column_types, take_random_sample",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{take: 1}, read_parquet]\n",
            "transformations[1].read_parquet: must be the first transformation: it turns files "
            "into a table",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {sep: ';'}}]\n",
            "transformations[0].read_delimited: unknown option(s) sep; expected delimiter, header, "
            "encoding, empty_as_string, include_path_column, support_multi_line, "
            "infer_column_types",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {header: yes}}]\n",
            "transformations[0].read_delimited.header: must be one of all_files_same_headers, "
            "from_first_file, no_header, all_files_different_headers; got True",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {encoding: ebcdic}}]\n",
            "transformations[0].read_delimited.encoding: must be one of utf8, utf8bom, iso88591, "
            "latin1, ascii, utf16, utf32, windows1252; got 'ebcdic'",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_delimited: {delimiter: '::'}}]\n",
            "transformations[0].read_delimited.delimiter: must be a single character, got '::'",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_parquet: {include_path_column: 1}}]\n",
            "transformations[0].read_parquet.include_path_column: must be true or false, got 1",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{read_json_lines: {invalid_lines: skip}}]\n",
            "transformations[0].read_json_lines.invalid_lines: must be one of error, drop; "
            "got 'skip'",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{keep_columns: []}]\n",
            "transformations[0].keep_columns: must be a column name or a non-empty list of column "
            "names, got []",
        ),
        (
            "paths: [{file: a.csv}]\n"
            "transformations: [{convert_column_types: [{columns: a, column_type: complex}]}]\n",
            "transformations[0].convert_column_types[0].column_type: must be one of int, float, "
            "string, boolean, datetime; got 'complex'",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{convert_column_types: [{columns: a}]}]\n",
            "transformations[0].convert_column_types[0]: column_type is required",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{convert_column_types: [{columns: a, "
            "column_type: {boolean: {true_values: [yes]}}}]}]\n",
            "transformations[0].convert_column_types[0].column_type.boolean.true_values: must be a "
            "string or a non-empty list of strings (quote yes, no, on and off), got [True]",
        ),
        (
            "paths: [{file: a.csv}]\ntransformations: [{take_random_sample: {probability: 1.5}}]\n",
            "transformations[0].take_random_sample.probability: must be a number from 0 to 1, "
            "got 1.5",
        ),
        ("- just\n- a list\n", "the MLTable file must hold a mapping, got list"),
    ],
)
def test_spec_errors_name_the_field(tmp_path: Path, spec: str, message: str) -> None:
    root = make_table(tmp_path / "t", spec)
    with pytest.raises(MLTableError) as info:
        MLTable.load(str(root))
    assert str(info.value) == f"MLTable at {root}: {message}"


def test_invalid_yaml_and_missing_mltable(tmp_path: Path) -> None:
    root = make_table(tmp_path / "bad", "paths: [unclosed\n")
    with pytest.raises(MLTableError) as info:
        MLTable.load(str(root))
    assert str(info.value).startswith(f"MLTable at {root}: {root}/MLTable is not valid YAML: ")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MLTableError) as info:
        MLTable.load(str(empty))
    assert str(info.value) == f"MLTable at {empty}: no MLTable file at {empty}/MLTable"


def test_errors_are_validation_errors_with_a_field(tmp_path: Path) -> None:
    root = make_table(tmp_path / "t", "paths: [{file: a.csv}]\ntransformations: [{take: x}]\n")
    with pytest.raises(ValidationError) as info:
        MLTable.load(str(root))
    assert isinstance(info.value, MLTableError)
    assert info.value.code == "INVALID_MLTABLE"
    assert info.value.details == {"field": "transformations[0].take"}


def test_parsed_conversion_keeps_its_options(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths: [{file: a.csv}]\ntransformations:\n  - convert_column_types:\n"
        "      columns: [a, b]\n"
        "      column_type:\n"
        "        boolean: {true_values: 'y', false_values: ['n'], mismatch_as: 'false'}\n",
    )
    (step,) = MLTable.load(str(root)).transformations
    assert isinstance(step, ConvertColumnTypes)
    (conversion,) = step.conversions
    assert conversion.columns == ("a", "b")
    assert conversion.column_type.true_values == ("y",)
    assert conversion.column_type.false_values == ("n",)
    assert conversion.column_type.mismatch_as == "false"
