"""`OfflineRun`: what `Run.get_context()` returns outside a job, like Azure's `_OfflineRun`.

It prints what it would log ("Attempted to log scalar metric loss:" and the value on the
next line, as Azure's does) and keeps it in memory, stored as a live run stores it
(numbers as metrics with steps, text as tags, tables as columns), so `get_metrics()` and
`get_tags()` answer what a script logged. Nothing is written anywhere.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from orchard.errors import NotFound, ValidationError
from orchard.run.experiment import Experiment
from orchard.run.models import RegisteredModel
from orchard.run.run import Figure, Run
from orchard.run.values import (
    Table,
    as_float,
    as_text,
    is_metric_key,
    is_number,
    table_rows,
)


class OfflineRun(Run):
    def __init__(self, experiment: Experiment, run_id: str | None = None) -> None:
        self._setup(run_id or f"OfflineRun_{uuid.uuid4()}", experiment)
        self._metrics: dict[str, list[tuple[int, float]]] = {}
        self._tags: dict[str, str] = {}
        self._files: dict[str, str] = {}

    @property
    def display_name(self) -> str | None:
        return self.id

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        _emit("scalar", name, value)
        if is_number(value):
            self._metric(name, [as_float(value)], step)
        else:
            self._tags[name] = as_text(value)

    def log_list(self, name: str, value: Sequence[Any], description: str = "") -> None:
        values = list(value)
        _emit("list", name, values)
        if all(is_number(v) for v in values):
            self._metric(name, [as_float(v) for v in values], None)
        else:
            self._tags[name] = as_text(values)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        _emit("row", name, kwargs)
        self._add_rows(name, [kwargs])

    def log_table(
        self, name: str, value: Mapping[str, Sequence[Any]], description: str = ""
    ) -> None:
        _emit("table", name, value)
        self._add_rows(name, table_rows(name, value))

    def log_image(
        self,
        name: str,
        path: str | os.PathLike[str] | None = None,
        plot: Figure | None = None,
        description: str = "",
    ) -> None:
        if (path is None) == (plot is None):
            raise ValidationError(f"log_image({name!r}): give either path or plot")
        _emit("image", name, path if path is not None else plot)
        self._files[name] = str(path) if path is not None else "<plot>"

    def upload_file(self, name: str, path_or_stream: str | os.PathLike[str] | IO[Any]) -> None:
        shown = str(path_or_stream) if isinstance(path_or_stream, str | os.PathLike) else "<stream>"
        print(f"Attempted to track file {name} at {shown}")
        self._files[name] = shown

    def upload_folder(self, name: str, path: str | os.PathLike[str], **_: Any) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise NotFound(f"upload_folder({name!r}): no folder at {folder}")
        print(f"Attempted to track folder {name} at {folder}")
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            self._files[posixpath.join(name, file.relative_to(folder).as_posix())] = str(file)

    def get_file_names(self) -> list[str]:
        return sorted(self._files)

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None
    ) -> None:
        raise NotFound(f"an offline run keeps no files: {name!r} cannot be downloaded")

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        shown = {k: "" if v is None else as_text(v) for k, v in tags.items()}
        print(f"Attempted to set tags {shown}")
        self._tags.update(shown)

    def get_tags(self) -> dict[str, str]:
        return dict(self._tags)

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, **_: Any
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, points in self._metrics.items():
            if name is None or key == name:
                values = [value for _, value in sorted(points, key=lambda p: p[0])]
                found[key] = values[0] if len(values) == 1 else values
        for key, table in self._tables.items():
            if name is None or key == name:
                found[key] = table.as_columns()
        return found

    def get_status(self) -> str:
        return "Running"

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        **_: Any,
    ) -> RegisteredModel:
        print(f"Attempted to register model {model_name} from {model_path}")
        return RegisteredModel(
            name=model_name,
            version=None,
            run_id=self.id,
            source=f"runs:/{self.id}/{model_path or ''}",
            tags={k: as_text(v) for k, v in (tags or {}).items()},
            description=description,
        )

    def flush(self, timeout_seconds: int = 300) -> None:
        return None

    def complete(self, _set_status: bool = True) -> None:
        return None

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        print(f"Attempted to fail the run: {error_details}")

    def __repr__(self) -> str:
        return f"OfflineRun(id={self.id!r})"

    def _metric(self, name: str, values: list[float], step: int | None) -> None:
        first = self._steps.take(name, step, len(values))
        points = self._metrics.setdefault(name, [])
        points += [(first + index, value) for index, value in enumerate(values)]

    def _add_rows(self, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
        table = self._tables.setdefault(name, Table())
        first = table.append(rows)
        for index, row in enumerate(rows):
            for column, value in row.items():
                if is_number(value) and is_metric_key(f"{name}.{column}"):
                    self._metric(f"{name}.{column}", [as_float(value)], first + index)


def _emit(kind: str, name: str, value: object) -> None:
    print(f"Attempted to log {kind} metric {name}:\n{value}")
