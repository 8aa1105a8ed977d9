"""What Azure's `run.log*` values become: numbers, text, steps and tables.

- A number (int, float, bool, numpy scalars) is a metric value; anything else is text.
- Each metric name keeps its own step counter, so repeated `run.log(name, v)` calls
  build a history at steps 0, 1, 2, ... An explicit step moves the counter past it.
- A table is a list of rows with the union of their columns, stored the way
  `mlflow.log_table` stores one: JSON `{"columns": [...], "data": [[...], ...]}`.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from orchard.errors import ValidationError

# MLflow's rule for metric names: a table column outside it stays in the table only.
_METRIC_KEY = re.compile(r"^[/\w.\- :]{1,250}$")


def now_millis() -> int:
    return int(time.time() * 1000)


def is_number(value: object) -> bool:
    return isinstance(value, numbers.Real)


def is_metric_key(key: str) -> bool:
    return bool(_METRIC_KEY.match(key)) and ".." not in key.split("/")


def as_float(value: object) -> float:
    assert isinstance(value, numbers.Real)
    return float(value)


def as_text(value: object) -> str:
    """A non-number as tag text: strings as they are, lists and dicts as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return str(value)


def cell(value: object) -> Any:
    """A table cell as JSON: numbers stay numbers (non-finite ones become null)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()  # a numpy scalar as the Python value it holds
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


class StepCounter:
    """The next step of each metric name; thread-safe."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, name: str, step: int | None = None, count: int = 1) -> int:
        """The first of `count` steps for `name`: `step` when given, else the next free one."""
        with self._lock:
            first = self._next.get(name, 0) if step is None else int(step)
            self._next[name] = max(self._next.get(name, 0), first + count)
            return first


class Table:
    """Rows under the union of their columns, in first-seen column order."""

    def __init__(self, columns: Sequence[str] = (), rows: Sequence[Mapping[str, Any]] = ()) -> None:
        self.columns: list[str] = list(columns)
        self.rows: list[dict[str, Any]] = [dict(r) for r in rows]

    def append(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Add `rows`; returns the index of the first one."""
        first = len(self.rows)
        for row in rows:
            for key in row:
                if key not in self.columns:
                    self.columns.append(key)
            self.rows.append({key: cell(value) for key, value in row.items()})
        return first

    def as_columns(self) -> dict[str, list[Any]]:
        return {c: [row.get(c) for row in self.rows] for c in self.columns}

    def to_json(self) -> bytes:
        data = [[row.get(c) for c in self.columns] for row in self.rows]
        return json.dumps({"columns": self.columns, "data": data}).encode("utf-8")

    @classmethod
    def from_json(cls, content: bytes) -> Table:
        body = json.loads(content)
        if not isinstance(body, dict) or "columns" not in body:
            raise ValidationError("a table artifact must hold {'columns': [...], 'data': [...]}")
        columns = [str(c) for c in body["columns"]]
        rows = [dict(zip(columns, values, strict=False)) for values in body.get("data", [])]
        return cls(columns, rows)


def table_rows(name: str, value: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Azure's column dictionary `{column: [values]}` as rows; columns must agree in length."""
    if not isinstance(value, Mapping):
        raise ValidationError(f"log_table({name!r}): the value must be a dict of column lists")
    columns = {str(k): list(v) if _is_sequence(v) else [v] for k, v in value.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in columns.items())
        raise ValidationError(f"log_table({name!r}): the columns differ in length ({sizes})")
    count = lengths.pop() if lengths else 0
    return [{k: v[i] for k, v in columns.items()} for i in range(count)]


def _is_sequence(value: object) -> bool:
    if isinstance(value, str | bytes):
        return False
    return isinstance(value, Sequence) or (hasattr(value, "tolist") and hasattr(value, "__len__"))
