"""What `run()` returns, as rows, and the append_row file they are written to in order."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO


def as_lines(result: Any) -> list[str]:
    """The rows of a run() result, one text line each.

    A DataFrame's rows are its values joined by spaces, as Azure's append_row writes them;
    anything else iterable gives one row per element.
    """
    if result is None:
        raise TypeError("run() returned None; return a list or a pandas DataFrame")
    if hasattr(result, "itertuples") and hasattr(result, "columns"):
        return [" ".join(str(value) for value in row) for row in result.itertuples(index=False)]
    if isinstance(result, (str, bytes)):
        return [result.decode() if isinstance(result, bytes) else result]
    if isinstance(result, Iterable):
        return [str(row) for row in result]
    raise TypeError(
        f"run() returned a {type(result).__name__}; return a list or a pandas DataFrame"
    )


class RowWriter:
    """Appends each mini-batch's rows in mini-batch order, whatever order they finish in.

    Rows go to a temporary name beside the file and are renamed into place on `commit`,
    so a failed run leaves no half-written output file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._sink: TextIO = self.partial.open("w", encoding="utf-8")
        self._next = 0
        self._waiting: dict[int, list[str] | None] = {}
        self.rows = 0

    def add(self, index: int, lines: list[str]) -> None:
        self._waiting[index] = lines
        self._flush()

    def skip(self, index: int) -> None:
        """A mini-batch that failed for good: later ones need not wait for it."""
        self._waiting[index] = None
        self._flush()

    def _flush(self) -> None:
        while self._next in self._waiting:
            lines = self._waiting.pop(self._next)
            self._sink.write("".join(line.rstrip("\n") + "\n" for line in lines or ()))
            self.rows += len(lines or ())
            self._next += 1
        self._sink.flush()

    def commit(self) -> None:
        self._sink.close()
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        self._sink.close()
        self.partial.unlink(missing_ok=True)
