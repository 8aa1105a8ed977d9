"""MLTable ``paths``: files, folders and patterns, and every access through the resolver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mltable_helpers import error_of, load, make_table

from orchard.data.mltable import (
    PATH_COLUMN,
    MLTable,
)

# --------------------------------------------------------------------------- path forms


def test_folder_entry_reads_every_file_below_it_in_order(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - folder: ./data\ntransformations:\n  - read_delimited: {}\n",
        {
            "data/b.csv": "x\n2\n",
            "data/a.csv": "x\n1\n",
            "data/sub/c.csv": "x\n3\n",
            "data/.hidden.csv": "x\n98\n",
            "data/_SUCCESS": "",
            "data/_delta_log/0.csv": "x\n99\n",
        },
    )
    assert load(root).column("x").to_pylist() == [1, 2, 3]


def test_folder_dot_skips_the_mltable_file(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - folder: .\ntransformations:\n  - read_delimited: {}\n",
        {"a.csv": "x\n1\n"},
    )
    assert load(root).to_pydict() == {"x": [1]}


def test_pattern_entry_matches_one_level(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./data/*.csv\ntransformations:\n  - read_delimited: {}\n",
        {"data/a.csv": "x\n1\n", "data/b.txt": "x\n2\n", "data/sub/c.csv": "x\n3\n"},
    )
    assert load(root).to_pydict() == {"x": [1]}


def test_pattern_with_double_star_matches_every_depth(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - pattern: ./data/**/*.csv\n"
        "transformations:\n  - read_delimited: {include_path_column: true}\n",
        {"data/a.csv": "x\n1\n", "data/sub/b.csv": "x\n2\n", "data/sub/deep/c.csv": "x\n3\n"},
    )
    table = load(root)
    assert table.column("x").to_pylist() == [1, 2, 3]
    assert table.column(PATH_COLUMN).to_pylist() == [
        f"{root}/data/a.csv",
        f"{root}/data/sub/b.csv",
        f"{root}/data/sub/deep/c.csv",
    ]


def test_entries_combine_in_order_with_absolute_and_file_uris(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "abs.csv").write_text("x\n10\n")
    (elsewhere / "uri.csv").write_text("x\n20\n")
    root = make_table(
        tmp_path / "t",
        f"""\
        paths:
          - file: {elsewhere}/abs.csv
          - file: file://{elsewhere}/uri.csv
          - file: ./data/../local.csv
        transformations:
          - read_delimited: {{}}
        """,
        {"local.csv": "x\n30\n"},
    )
    assert load(root).to_pydict() == {"x": [10, 20, 30]}


def test_file_uris_lists_the_expanded_files(tmp_path: Path) -> None:
    root = make_table(
        tmp_path / "t",
        "paths:\n  - file: ./one.csv\n  - pattern: ./more/*.csv\n",
        {"one.csv": "x\n", "more/b.csv": "x\n", "more/a.csv": "x\n"},
    )
    assert MLTable.load(str(root)).file_uris() == [
        f"{root}/one.csv",
        f"{root}/more/a.csv",
        f"{root}/more/b.csv",
    ]


def test_missing_file_folder_and_empty_pattern_are_named(tmp_path: Path) -> None:
    cases = {
        "file: ./missing.csv": "paths[0]: file ./missing.csv does not exist",
        "folder: ./nowhere": "paths[0]: folder ./nowhere does not exist",
        "pattern: ./*.parquet": "paths[0]: pattern ./*.parquet matched no files",
    }
    for index, (entry, message) in enumerate(cases.items()):
        root = make_table(tmp_path / f"t{index}", f"paths:\n  - {entry}\n")
        assert error_of(root) == f"MLTable at {root}: {message}"


def test_relative_path_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    root = make_table(tmp_path / "t", "paths:\n  - file: ./a.csv\n  - folder: ./data/../../up\n")
    assert error_of(root) == (
        f"MLTable at {root}: paths[1]: folder ./data/../../up points outside the MLTable folder"
    )


def test_http_paths_are_refused(tmp_path: Path) -> None:
    root = make_table(tmp_path / "t", "paths:\n  - file: https://example.com/a.csv\n")
    assert error_of(root) == (
        f"MLTable at {root}: paths[0]: https://example.com/a.csv: "
        "http(s) URLs are not supported; Orchard reads no data over the web"
    )


def test_unknown_scheme_without_a_resolver_is_explained(tmp_path: Path) -> None:
    root = make_table(tmp_path / "t", "paths:\n  - file: azureml://datastores/x/paths/a.csv\n")
    assert error_of(root) == (
        f"MLTable at {root}: paths[0]: cannot open azureml://datastores/x/paths/a.csv: "
        "Protocol not known: azureml"
    )


def test_every_file_access_goes_through_the_resolver(lake: tuple[Any, str]) -> None:
    memory, root = lake
    memory.pipe(
        f"{root}/tbl/MLTable",
        b"paths:\n  - file: ./a.csv\n  - pattern: ./parts/**/*.csv\n  - folder: ./more\n"
        b"transformations:\n  - read_delimited: {include_path_column: true}\n",
    )
    memory.pipe(f"{root}/tbl/a.csv", b"x\n1\n")
    memory.pipe(f"{root}/tbl/parts/p1/b.csv", b"x\n2\n")
    memory.pipe(f"{root}/tbl/more/c.csv", b"x\n3\n")
    prefix = "azureml://datastores/lake/paths"
    seen: list[str] = []

    def resolve(uri: str) -> tuple[Any, str]:
        seen.append(uri)
        assert uri.startswith(prefix + "/")
        return memory, root + uri[len(prefix) :]

    table = MLTable.load(f"{prefix}/tbl", resolve=resolve).to_arrow_table()
    assert table.to_pydict() == {
        PATH_COLUMN: [
            f"{prefix}/tbl/a.csv",
            f"{prefix}/tbl/parts/p1/b.csv",
            f"{prefix}/tbl/more/c.csv",
        ],
        "x": [1, 2, 3],
    }
    assert seen == [
        f"{prefix}/tbl",
        f"{prefix}/tbl/MLTable",
        f"{prefix}/tbl/a.csv",
        f"{prefix}/tbl/parts",
        f"{prefix}/tbl/more",
    ]
