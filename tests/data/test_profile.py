"""Column profiles on small tables whose statistics are worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from orchard.data.profile import ColumnProfile, DataProfile, profile_table

NAN = float("nan")


def small_table() -> pa.Table:
    # Two chunks, so the kernels see a chunked column as real tables have.
    first = pa.table(
        {
            "ints": pa.array([1, 2, 2], pa.int64()),
            "floats": pa.array([1.5, NAN, None], pa.float64()),
            "words": pa.array(["pear", "apple", None]),
            "flags": pa.array([True, False, None]),
            "stamps": pa.array(
                [dt.datetime(2024, 1, 2), None, dt.datetime(2023, 5, 6, 7, 8)], pa.timestamp("us")
            ),
        }
    )
    second = pa.table(
        {
            "ints": pa.array([None, 5], pa.int64()),
            "floats": pa.array([2.5, 1.5], pa.float64()),
            "words": pa.array(["pear", "fig"]),
            "flags": pa.array([True, True]),
            "stamps": pa.array([dt.datetime(2024, 1, 2), None], pa.timestamp("us")),
        }
    )
    return pa.concat_tables([first, second])


def test_profile_numbers_match_hand_computation() -> None:
    profile = profile_table(small_table())
    assert profile.rows == 5
    ints, floats, words, flags, stamps = profile.columns
    assert ints == ColumnProfile("ints", "int64", 4, 1, 3, 1, 5, 2.5)
    # NaN counts as missing, as it does for pandas users.
    assert floats == ColumnProfile("floats", "double", 3, 2, 2, 1.5, 2.5, floats.mean)
    assert floats.mean == pytest.approx(5.5 / 3)
    assert words == ColumnProfile("words", "string", 4, 1, 3, "apple", "pear", None)
    assert flags == ColumnProfile("flags", "bool", 4, 1, 2, None, None, None)
    assert stamps == ColumnProfile(
        "stamps",
        "timestamp[us]",
        3,
        2,
        2,
        dt.datetime(2023, 5, 6, 7, 8),
        dt.datetime(2024, 1, 2),
        None,
    )


def test_other_column_types() -> None:
    table = pa.table(
        {
            "dates": pa.array([dt.date(2024, 3, 1), dt.date(2020, 1, 1), None], pa.date32()),
            "codes": pa.array(["b", "a", "b"]).dictionary_encode(),
            "prices": pa.array([Decimal("1.10"), Decimal("2.20"), None], pa.decimal128(5, 2)),
            "lists": pa.array([[1], [1], []]),
            "nothing": pa.nulls(3),
            "bytes": pa.array([b"x", b"y", b"x"]),
        }
    )
    dates, codes, prices, lists, nothing, raw = profile_table(table).columns
    assert dates == ColumnProfile(
        "dates", "date32[day]", 2, 1, 2, dt.date(2020, 1, 1), dt.date(2024, 3, 1), None
    )
    assert codes == ColumnProfile(
        "codes", "dictionary<values=string, indices=int32, ordered=0>", 3, 0, 2, "a", "b", None
    )
    assert prices == ColumnProfile(
        "prices", "decimal128(5, 2)", 2, 1, 2, Decimal("1.10"), Decimal("2.20"), 1.65
    )
    assert lists == ColumnProfile("lists", "list<item: int64>", 3, 0, 2, None, None, None)
    assert nothing == ColumnProfile("nothing", "null", 0, 3, 0, None, None, None)
    assert raw == ColumnProfile("bytes", "binary", 3, 0, 2, None, None, None)


def test_empty_table() -> None:
    profile = profile_table(pa.table({"x": pa.array([], pa.float64())}))
    assert profile == DataProfile(0, [ColumnProfile("x", "double", 0, 0, 0, None, None, None)])


def test_to_dict_is_json_ready() -> None:
    table = pa.table(
        {
            "when": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("us")),
            "day": pa.array([dt.date(2024, 1, 2)]),
            "price": pa.array([Decimal("1.10")], pa.decimal128(5, 2)),
            "n": pa.array([7]),
        }
    )
    body = profile_table(table).to_dict()
    assert json.loads(json.dumps(body)) == body
    assert body == {
        "rows": 1,
        "columns": [
            {
                "name": "when",
                "type": "timestamp[us]",
                "count": 1,
                "missing": 0,
                "distinct": 1,
                "min": "2024-01-02T03:04:05",
                "max": "2024-01-02T03:04:05",
                "mean": None,
            },
            {
                "name": "day",
                "type": "date32[day]",
                "count": 1,
                "missing": 0,
                "distinct": 1,
                "min": "2024-01-02",
                "max": "2024-01-02",
                "mean": None,
            },
            {
                "name": "price",
                "type": "decimal128(5, 2)",
                "count": 1,
                "missing": 0,
                "distinct": 1,
                "min": "1.10",
                "max": "1.10",
                "mean": 1.1,
            },
            {
                "name": "n",
                "type": "int64",
                "count": 1,
                "missing": 0,
                "distinct": 1,
                "min": 7,
                "max": 7,
                "mean": 7.0,
            },
        ],
    }


def test_a_large_chunked_table_profiles_correctly() -> None:
    # Big enough for several chunks and for every distinct-count path; speed is measured
    # by bench/bench_profile.py, not here.
    rows = 100_000
    ids = pa.chunked_array(
        [pa.array(range(start, start + 25_000)) for start in range(0, rows, 25_000)]
    )
    table = pa.table(
        {
            "id": ids,
            "value": pc.divide(pc.cast(ids, pa.float64()), 7.0),
            "label": pc.cast(pc.bit_wise_and(ids, 1023), pa.string()),
            "when": pc.cast(ids, pa.timestamp("s")),
        }
    )
    profile = profile_table(table)
    assert [c.distinct for c in profile.columns] == [rows, rows, 1024, rows]
    assert profile.columns[2].min == "0" and profile.columns[2].max == "999"
