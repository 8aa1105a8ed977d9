"""Splitting input into mini-batches: files by count and bytes, tables by bytes and keys."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from parallel_helpers import write_files

from orchard.entities.parallel import parse_mini_batch_size
from orchard.parallel.batches import InputError, PartitionedTable, SlicedTable, plan
from orchard.parallel.sizes import parse_batch_size


def names(batch: list[str]) -> list[str]:
    return [os.path.basename(path) for path in batch]


def test_file_batches_hold_the_given_number_of_files_in_name_order(tmp_path: Path) -> None:
    write_files(tmp_path / "data" / "sub", 3)
    write_files(tmp_path / "data", 22)
    batches = plan(str(tmp_path / "data"), "uri_folder", parse_batch_size("10"))
    sizes = [batches.describe(i).items for i in range(len(batches))]
    assert sizes == [10, 10, 5]
    first = batches.payload(0)
    assert all(os.path.isabs(path) for path in first)
    assert names(first)[:2] == ["f000.txt", "f001.txt"]
    assert names(batches.payload(2))[-3:] == ["f000.txt", "f001.txt", "f002.txt"]  # sub/


def test_file_batches_default_to_ten_files(tmp_path: Path) -> None:
    write_files(tmp_path / "data", 11)
    batches = plan(str(tmp_path / "data"), "uri_folder")
    assert [batches.describe(i).items for i in range(len(batches))] == [10, 1]


def test_file_batches_by_bytes_group_files_up_to_the_budget(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name, size in [("a", 400), ("b", 400), ("c", 400), ("d", 3000), ("e", 100)]:
        (data / name).write_bytes(b"x" * size)
    batches = plan(str(data), "uri_folder", parse_batch_size("1kb"))
    assert [names(batches.payload(i)) for i in range(len(batches))] == [
        ["a", "b"],
        ["c"],
        ["d"],  # bigger than the budget: alone
        ["e"],
    ]


def test_a_single_file_is_one_batch(tmp_path: Path) -> None:
    (path,) = write_files(tmp_path, 1)
    batches = plan(str(path), "uri_file")
    assert len(batches) == 1
    assert batches.payload(0) == [str(path.resolve())]


def test_missing_and_empty_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--input-data: no such file or folder: .*nowhere"):
        plan(str(tmp_path / "nowhere"), "uri_folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no files"):
        plan(str(tmp_path / "empty"), "uri_folder")
    with pytest.raises(InputError, match="--input-type: 'tabular'"):
        plan(str(tmp_path), "tabular")


def write_csv(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        {
            "id": range(rows),
            "region": [["east", "west", "north"][i % 3] for i in range(rows)],
            "kind": [i % 2 for i in range(rows)],
        }
    )
    frame.to_csv(folder / "part.csv", index=False)
    return folder


def test_tabular_batches_by_bytes_cover_every_row_in_order(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data", 1000)
    batches = plan(str(data), "mltable", parse_batch_size("2kb"))
    assert isinstance(batches, SlicedTable)
    frames = [batches.payload(i) for i in range(len(batches))]
    assert len(frames) > 3
    assert pd.concat(frames)["id"].tolist() == list(range(1000))
    row_bytes = batches.table.nbytes / 1000
    assert all(2048 - 2 * row_bytes <= len(f) * row_bytes <= 2048 + row_bytes for f in frames[:-1])
    assert [batches.describe(i).items for i in range(len(batches))] == [len(f) for f in frames]


def test_tabular_reads_an_mltable_folder(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "table", 10)
    (data / "MLTable").write_text(
        "paths:\n  - file: ./part.csv\ntransformations:\n  - read_delimited: {}\n  - take: 4\n"
    )
    batches = plan(str(data), "mltable")
    assert len(batches) == 1
    assert batches.payload(0)["id"].tolist() == [0, 1, 2, 3]


def test_partition_keys_make_one_batch_per_key_combination(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data", 12)
    batches = plan(str(data), "mltable", partition_keys=["region", "kind"])
    assert isinstance(batches, PartitionedTable)
    assert len(batches) == 6
    first = batches.describe(0)
    assert first.partition_key_value == {"region": "east", "kind": 0}
    assert type(first.partition_key_value["kind"]) is int  # a plain value, not numpy's
    for index in range(len(batches)):
        key = batches.describe(index).partition_key_value
        assert key is not None
        frame = batches.payload(index)
        assert set(frame["region"]) == {key["region"]}
        assert set(frame["kind"]) == {key["kind"]}
        assert batches.describe(index).items == len(frame) == 2


def test_partition_keys_name_missing_columns_and_need_tabular_input(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data", 3)
    with pytest.raises(InputError, match=r"--partition-keys: no column 'colour'.*region"):
        plan(str(data), "mltable", partition_keys=["colour"])
    with pytest.raises(InputError, match="only tabular"):
        plan(str(data), "uri_folder", partition_keys=["region"])
    with pytest.raises(InputError, match="mutually exclusive"):
        plan(str(data), "mltable", parse_batch_size("1kb"), ["region"])


@pytest.mark.parametrize(
    "text", ["10", "1", " 5 ", "100kb", "10MB", "1gb", "0", "-1", "10tb", "ten", "1.5mb", ""]
)
def test_the_driver_and_the_entities_read_sizes_alike(text: str) -> None:
    try:
        entity: tuple[int, int | None] | str = parse_mini_batch_size(text)
    except ValueError as error:
        entity = str(error)
    try:
        size = parse_batch_size(text)
        driver: tuple[int, int | None] | str = (size.amount, size.multiplier)
    except ValueError as error:
        driver = str(error)
    assert entity == driver
    if isinstance(driver, str):
        assert driver.startswith("mini_batch_size: ")
