"""read_tabular: plain files and folders by extension, MLTable folders, the quickstart data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mltable_helpers import csv_table

import orchard
from orchard.data.mltable import (
    MLTableError,
    read_tabular,
)

IRIS = Path(orchard.__file__).parent / "quickstart_data" / "iris.csv"


def test_quickstart_iris_is_the_classic_data_set() -> None:
    table = read_tabular(str(IRIS))
    assert table.num_rows == 150
    assert table.column_names == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
        "species",
    ]
    frame = table.to_pandas()
    assert frame["species"].value_counts().to_dict() == {
        "setosa": 50,
        "versicolor": 50,
        "virginica": 50,
    }
    assert frame["sepal_length"].sum() == pytest.approx(876.5)
    assert frame.groupby("species")["petal_length"].mean().round(3).to_dict() == {
        "setosa": 1.462,
        "versicolor": 4.26,
        "virginica": 5.552,
    }


def test_read_tabular_uses_the_resolver_too(lake: tuple[Any, str]) -> None:
    memory, root = lake
    memory.pipe(f"{root}/f/a.csv", b"x\n1\n")
    memory.pipe(f"{root}/f/b.jsonl", b'{"x": 2}\n')
    table = read_tabular("store://f", resolve=lambda uri: (memory, root + "/" + uri[8:]))
    assert table.to_pydict() == {"x": [1, 2]}


# --------------------------------------------------------------------------- read_tabular


def test_read_tabular_by_extension(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x,y\n1,a\n")
    (tmp_path / "a.tsv").write_text("x\ty\n2\tb\n")
    (tmp_path / "a.jsonl").write_text('{"x": 3, "y": "c"}\n')
    pq.write_table(pa.table({"x": [4], "y": ["d"]}), tmp_path / "a.parquet")
    for name, expected in [("a.csv", 1), ("a.tsv", 2), ("a.jsonl", 3), ("a.parquet", 4)]:
        assert read_tabular(str(tmp_path / name)).to_pydict() == {
            "x": [expected],
            "y": ["abcd"[expected - 1]],
        }


def test_read_tabular_folder_stacks_supported_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "sub" / "b.jsonl").write_text('{"x": 2, "z": true}\n')
    (tmp_path / "notes.txt").write_text("not data")
    (tmp_path / "_SUCCESS").write_text("")
    assert read_tabular(str(tmp_path)).to_pydict() == {"x": [1, 2], "z": [None, True]}


def test_read_tabular_folder_with_mltable_uses_it(tmp_path: Path) -> None:
    root = csv_table(tmp_path, "  - read_delimited: {}\n  - take: 1\n")
    assert read_tabular(str(root)).to_pydict() == {"id": [1], "name": ["ann"], "score": [1.5]}
    assert read_tabular(str(root / "MLTable")).num_rows == 1


def test_read_tabular_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    cases = {
        tmp_path / "notes.txt": "cannot tell the format; expected one of "
        ".csv, .tsv, .parquet, .pq, .jsonl, .ndjson, .json",
        tmp_path / "missing.csv": "no such file or folder",
        tmp_path / "empty": "no .csv, .tsv, .parquet, .pq, .jsonl, .ndjson, .json files in "
        "the folder",
    }
    for path, message in cases.items():
        with pytest.raises(MLTableError) as info:
            read_tabular(str(path))
        assert str(info.value) == f"Data at {path}: {message}"
