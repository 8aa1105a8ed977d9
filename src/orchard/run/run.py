"""`Run`: azureml.core.Run for scripts that run as Orchard jobs.

`Run.get_context()` inside a job returns the job's run; everything it logs goes to the
tracking server the job's runner serves (MLFLOW_TRACKING_URI), through MLflow's REST API:

- `log(name, number)` is a metric; its step counts up per name (0, 1, 2, ...) unless
  given. `log(name, text)` sets the tag `name` (text has no metric history in MLflow;
  the latest value wins). A list or dict that is not a number is tagged as JSON.
- `log_list(name, numbers)` logs one metric value per element at the next steps, in
  batches of at most 1000 metrics a request. A list with non-numbers is tagged as JSON.
- `log_row(name, **cells)` and `log_table(name, {column: [values]})` append rows to the
  table `name`, kept as the artifact `<name>.json` in `mlflow.log_table`'s format (and
  listed in the run's `mlflow.loggedArtifacts` tag, as MLflow lists its tables). Each
  numeric cell is also the metric `<name>.<column>` at the row's index as step, so a
  table's numbers chart. Rows from `log_row` are written at most every few seconds
  while they keep coming, and at `flush()`, `complete()`, `fail()` and exit.
- `log_image`, `upload_file` and `upload_folder` write artifacts through the
  mlflow-artifacts proxy below the run's artifact URI.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import posixpath
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from orchard.entities.jobs import ERROR_CODE_TAG, ERROR_TAG
from orchard.errors import NotFound, ValidationError
from orchard.run.models import RegisteredModel
from orchard.run.rest import MetricPoint, RunRecord, TrackingClient
from orchard.run.values import (
    StepCounter,
    Table,
    as_float,
    as_text,
    is_metric_key,
    is_number,
    now_millis,
    table_rows,
)

if TYPE_CHECKING:
    from orchard.run.experiment import Experiment

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
TABLE_WRITE_SECONDS = 5.0
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".tif", ".tiff", ".webp"}
_AZURE_STATUS = {
    "SCHEDULED": "Queued",
    "RUNNING": "Running",
    "FINISHED": "Completed",
    "FAILED": "Failed",
    "KILLED": "Canceled",
}


class Figure(Protocol):
    """A matplotlib figure, or `matplotlib.pyplot` itself: anything that saves a PNG."""

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> Any: ...


class Run:
    """The run of the job this script runs in (see the module docstring for how each
    kind of value is stored)."""

    def __init__(self, client: TrackingClient, run_id: str, experiment: Experiment) -> None:
        self._setup(run_id, experiment)
        self._client = client
        self._artifact_uri: str | None = None
        atexit.register(self._flush_at_exit)

    def _setup(self, run_id: str, experiment: Experiment) -> None:
        self._id = run_id
        self._experiment = experiment
        self._steps = StepCounter()
        self._tables: dict[str, Table] = {}
        self._pending: set[str] = set()  # tables with rows not yet written
        self._written: dict[str, float] = {}  # table -> when it was last written
        self.table_write_seconds = TABLE_WRITE_SECONDS
        self._lock = threading.RLock()

    @classmethod
    def get_context(cls, allow_offline: bool = True, **_: Any) -> Run:
        """The job's run inside a job; outside one an offline run that prints what it
        would log, or, with `allow_offline=False`, an error."""
        from orchard.run.context import current_run

        return current_run(allow_offline=allow_offline)

    @property
    def id(self) -> str:
        return self._id

    @property
    def experiment(self) -> Experiment:
        return self._experiment

    @property
    def display_name(self) -> str | None:
        return self._record().name

    @property
    def name(self) -> str | None:
        return self.display_name

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, experiment={self.experiment.name!r})"

    # -- logging -------------------------------------------------------------------------

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """A number as a metric at the next step of `name` (or `step`); text as a tag."""
        if is_number(value):
            point = MetricPoint(name, as_float(value), self._steps.take(name, step), now_millis())
            self._client.log_metrics(self.id, [point])
        else:
            self._client.set_tags(self.id, {name: as_text(value)})

    def log_list(self, name: str, value: Sequence[Any], description: str = "") -> None:
        """One metric value per element, at consecutive steps of `name`."""
        values = list(value)
        if not all(is_number(v) for v in values):
            self._client.set_tags(self.id, {name: as_text(values)})
            return
        first = self._steps.take(name, None, len(values))
        stamp = now_millis()
        points = [MetricPoint(name, as_float(v), first + i, stamp) for i, v in enumerate(values)]
        self._client.log_metrics(self.id, points)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """One row of the table `name`; its numeric cells as metrics `<name>.<column>`."""
        self._append(name, [kwargs], write_now=False)

    def log_table(
        self, name: str, value: Mapping[str, Sequence[Any]], description: str = ""
    ) -> None:
        """Rows of the table `name` from Azure's `{column: [values]}` dictionary."""
        self._append(name, table_rows(name, value), write_now=True)

    def log_image(
        self,
        name: str,
        path: str | os.PathLike[str] | None = None,
        plot: Figure | None = None,
        description: str = "",
    ) -> None:
        """An image file, or a matplotlib figure saved as PNG, as the artifact `<name>.png`
        (or `<name>` with the file's own suffix)."""
        if (path is None) == (plot is None):
            raise ValidationError(f"log_image({name!r}): give either path or plot")
        if path is not None:
            source = Path(path)
            if not source.is_file():
                raise NotFound(f"log_image({name!r}): no image file at {source}")
            with source.open("rb") as stream:
                self._upload(_image_name(name, source.suffix or ".png"), stream)
            return
        assert plot is not None
        buffer = io.BytesIO()
        plot.savefig(buffer, format="png")
        self._upload(_image_name(name, ".png"), buffer.getvalue())

    # -- artifacts -----------------------------------------------------------------------

    def upload_file(self, name: str, path_or_stream: str | os.PathLike[str] | IO[Any]) -> None:
        """The file (or the bytes of a binary stream) as the artifact `name`."""
        if isinstance(path_or_stream, str | os.PathLike):
            source = Path(path_or_stream)
            if not source.is_file():
                raise NotFound(f"upload_file({name!r}): no file at {source}")
            with source.open("rb") as stream:
                self._upload(name, stream)
        else:
            self._upload(name, path_or_stream)

    def upload_files(
        self, names: Sequence[str], paths: Sequence[str | os.PathLike[str]], **_: Any
    ) -> None:
        if len(names) != len(paths):
            raise ValidationError("upload_files: names and paths differ in length")
        for name, path in zip(names, paths, strict=True):
            self.upload_file(name, path)

    def upload_folder(self, name: str, path: str | os.PathLike[str], **_: Any) -> None:
        """Every file below folder `path` as an artifact below `name`."""
        folder = Path(path)
        if not folder.is_dir():
            raise NotFound(f"upload_folder({name!r}): no folder at {folder}")
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.upload_file(posixpath.join(name, file.relative_to(folder).as_posix()), file)

    def get_file_names(self) -> list[str]:
        """Every artifact of the run, as paths below its artifact root."""
        found: list[str] = []
        folders = [""]
        while folders:
            for path, is_dir in self._client.list_artifacts(self.id, folders.pop()):
                (folders if is_dir else found).append(path)
        return sorted(found)

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None
    ) -> None:
        """The artifact `name` to `output_file_path` (a file, or a folder to put it in)."""
        target = Path(output_file_path) if output_file_path else Path(posixpath.basename(name))
        if target.is_dir():
            target = target / posixpath.basename(name)
        content = self._client.download(self._artifacts(), name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    # -- tags ----------------------------------------------------------------------------

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._client.set_tags(
            self.id, {k: "" if v is None else as_text(v) for k, v in tags.items()}
        )

    def tag(self, key: str, value: Any = None) -> None:
        self.set_tags({key: value})

    def get_tags(self) -> dict[str, str]:
        return dict(self._record().tags)

    # -- reading back --------------------------------------------------------------------

    def get_metrics(
        self, name: str | None = None, recursive: bool = False, **_: Any
    ) -> dict[str, Any]:
        """Like Azure: a metric logged once is its value, one logged more often the list of
        its values in step order; a table is `{column: [values]}`."""
        self.flush()
        record = self._record()
        keys = [name] if name is not None else sorted(record.metrics)
        found: dict[str, Any] = {}
        for key in keys:
            if key not in record.metrics:
                continue
            points = sorted(self._client.metric_history(self.id, key), key=_order)
            values = [p.value for p in points]
            found[key] = values[0] if len(values) == 1 else values
        for table in _table_names(record.tags):
            if name is None or table == name:
                found[table] = self._load_table(table).as_columns()
        return found

    def get_status(self) -> str:
        status = self._record().status
        return _AZURE_STATUS.get(status, status)

    # -- model registry ------------------------------------------------------------------

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
        """Register the run's artifact `model_path` as a new version of `model_name`.

        A path not yet among the run's artifacts but present on disk (the usual
        `outputs/model.pkl`, which a job collects only when the script ends) is
        uploaded first. MLflow's versions carry tags only: `properties` (and the
        framework) are recorded as version tags too.
        """
        if not model_path:
            raise ValidationError("register_model needs model_path, an artifact of the run")
        path = posixpath.normpath(model_path.replace(os.sep, "/")).strip("/")
        self.flush()
        if not self._has_artifact(path):
            self._upload_local(path, model_path)
        merged = {
            **{k: as_text(v) for k, v in (properties or {}).items()},
            **({"model_framework": model_framework} if model_framework else {}),
            **(
                {"model_framework_version": model_framework_version}
                if model_framework_version
                else {}
            ),
            **{k: as_text(v) for k, v in (tags or {}).items()},
        }
        self._client.create_registered_model(model_name)
        version = self._client.create_model_version(
            model_name, f"runs:/{self.id}/{path}", self.id, merged, description
        )
        return RegisteredModel(
            name=model_name,
            version=int(version["version"]),
            run_id=self.id,
            source=f"runs:/{self.id}/{path}",
            tags={str(t["key"]): str(t.get("value", "")) for t in version.get("tags", [])},
            description=description,
        )

    # -- lifecycle -----------------------------------------------------------------------

    def flush(self, timeout_seconds: int = 300) -> None:
        """Write the table rows not yet written."""
        with self._lock:
            for table in sorted(self._pending):
                self._write_table(table)

    def complete(self, _set_status: bool = True) -> None:
        """Flush, and mark the run finished. A job's status stays its runner's to set: the
        job completes (or fails) when the script exits."""
        self.flush()
        if _set_status:
            self._client.update_run(self.id, "FINISHED", now_millis())

    def fail(
        self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True
    ) -> None:
        """Flush, record the error as tags, and mark the run failed: inside a job, the job
        ends Failed with this error once the script exits, whatever its exit code."""
        self.flush()
        tags = {ERROR_TAG: as_text(error_details)} if error_details is not None else {}
        if error_code:
            tags[ERROR_CODE_TAG] = error_code
        if tags:
            self._client.set_tags(self.id, tags)
        if _set_status:
            self._client.update_run(self.id, "FAILED", now_millis())

    # -- inside --------------------------------------------------------------------------

    def _append(self, name: str, rows: Sequence[Mapping[str, Any]], *, write_now: bool) -> None:
        with self._lock:
            table = self._table(name)
            first = table.append(rows)
            self._pending.add(name)
            points = [
                MetricPoint(f"{name}.{column}", as_float(value), first + index, now_millis())
                for index, row in enumerate(rows)
                for column, value in row.items()
                if is_number(value) and is_metric_key(f"{name}.{column}")
            ]
            if points:
                self._client.log_metrics(self.id, points)
            last = self._written.get(name)
            if write_now or last is None or time.monotonic() - last >= self.table_write_seconds:
                self._write_table(name)

    def _table(self, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = self._load_table(name)
        return self._tables[name]

    def _load_table(self, name: str) -> Table:
        try:
            return Table.from_json(self._client.download(self._artifacts(), f"{name}.json"))
        except NotFound:
            return Table()

    def _write_table(self, name: str) -> None:
        path = f"{name}.json"
        self._upload(path, self._tables[name].to_json())
        self._pending.discard(name)
        if name not in self._written:
            self._list_table(path)
        self._written[name] = time.monotonic()

    def _list_table(self, path: str) -> None:
        """Name the table in `mlflow.loggedArtifacts`, where MLflow's UI finds tables."""
        listed = _logged_artifacts(self._record().tags)
        entry = {"path": path, "type": "table"}
        if entry not in listed:
            self._client.set_tags(self.id, {LOGGED_ARTIFACTS_TAG: json.dumps([*listed, entry])})

    def _upload(self, name: str, content: bytes | IO[Any]) -> None:
        self._client.upload(self._artifacts(), name, content)

    def _has_artifact(self, path: str) -> bool:
        parent = posixpath.dirname(path)
        return any(entry == path for entry, _ in self._client.list_artifacts(self.id, parent))

    def _upload_local(self, path: str, given: str) -> None:
        local = Path(given)
        if local.is_file():
            self.upload_file(path, local)
        elif local.is_dir():
            self.upload_folder(path, local)
        else:
            raise NotFound(
                f"register_model: {given!r} is neither an artifact of run {self.id} nor a file "
                f"or folder under {Path.cwd()}"
            )

    def _artifacts(self) -> str:
        if self._artifact_uri is None:
            self._artifact_uri = self._record().artifact_uri
        return self._artifact_uri

    def _record(self) -> RunRecord:
        return self._client.get_run(self.id)

    def _flush_at_exit(self) -> None:
        # The interpreter is ending: a table that cannot be written is reported, not raised.
        try:
            self.flush()
        except Exception as error:
            print(f"orchard.run: could not write the run's tables: {error}", file=sys.stderr)


def _order(point: MetricPoint) -> tuple[int, int]:
    return point.step, point.timestamp


def _image_name(name: str, suffix: str) -> str:
    return name if Path(name).suffix.lower() in IMAGE_SUFFIXES else f"{name}{suffix}"


def _logged_artifacts(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    try:
        listed = json.loads(tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    except ValueError:
        return []
    return [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []


def _table_names(tags: Mapping[str, str]) -> list[str]:
    return [
        str(e["path"])[: -len(".json")]
        for e in _logged_artifacts(tags)
        if e.get("type") == "table" and str(e.get("path", "")).endswith(".json")
    ]
