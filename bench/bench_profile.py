"""Profile a 1M-row, 4-column table: Orchard's ``profile_table`` against pandas, side by side.

The pandas side is what a user would otherwise run on a DataFrame already in memory:
``describe(include="all")`` for counts, min/max and means, plus ``nunique()`` and
``isna().sum()`` for distinct and missing counts. Orchard's side profiles the Arrow table
the data readers return. Converting between the two is not timed.

Run from the repository root: ``python bench/bench_profile.py [--rows N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from orchard.data.profile import profile_table


def make_table(rows: int) -> pa.Table:
    """An id, a float, a 1,024-value text label and a timestamp: the shapes profiles meet."""
    ids = pa.array(range(rows), pa.int64())
    return pa.table(
        {
            "id": ids,
            "value": pc.divide(pc.cast(ids, pa.float64()), 7.0),
            "label": pc.cast(pc.bit_wise_and(ids, 1023), pa.string()),
            "when": pc.cast(ids, pa.timestamp("s")),
        }
    )


def pandas_profile(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    return frame.describe(include="all"), frame.nunique(), frame.isna().sum()


def timings(run: Callable[[], Any], repeat: int) -> list[float]:
    run()  # warm up: first-call imports and allocations are not what is measured
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    table = make_table(args.rows)
    frame = table.to_pandas()

    # Both sides must compute the same counts, or the comparison means nothing.
    profile = profile_table(table)
    _, distinct, missing = pandas_profile(frame)
    assert [c.distinct for c in profile.columns] == distinct.tolist()
    assert [c.missing for c in profile.columns] == missing.tolist()

    orchard_s = timings(lambda: profile_table(table), args.repeat)
    pandas_s = timings(lambda: pandas_profile(frame), args.repeat)

    types = ", ".join(f"{field.name} {field.type}" for field in table.schema)
    print(f"Data profile: {args.rows:,} rows x {table.num_columns} columns ({types})")
    print(
        f"python {platform.python_version()}, pyarrow {pa.__version__}, pandas {pd.__version__}; "
        f"{args.repeat} timed runs after one warm-up"
    )
    print()
    print(f"| {'method':<58} | {'median s':>8} | {'best s':>8} |")
    print(f"|{'-' * 60}|{'-' * 9}:|{'-' * 9}:|")
    rows = [
        ("orchard.data.profile.profile_table (Arrow table)", orchard_s),
        ('pandas describe(include="all") + nunique() + isna().sum()', pandas_s),
    ]
    for name, seconds in rows:
        print(f"| {name:<58} | {statistics.median(seconds):>8.3f} | {min(seconds):>8.3f} |")
    ratio = statistics.median(pandas_s) / statistics.median(orchard_s)
    print()
    print(f"pandas / orchard, medians: {ratio:.1f}x")


if __name__ == "__main__":
    main()
