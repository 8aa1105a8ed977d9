"""A live run against the tracking server a job's runner serves, over both store back
ends: what each call stores, read back through Orchard's services."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from orchard.agent.tracking_server import serve_tracking
from orchard.errors import NotFound, ValidationError
from orchard.run import Run
from orchard.run.run import LOGGED_ARTIFACTS_TAG
from orchard.sdk.client import MLClient
from orchard.services import Services


@dataclass
class Live:
    """A run as a job's script sees it, and the services to check what it logged."""

    run: Run
    run_id: str
    uri: str
    client: MLClient

    @property
    def services(self) -> Services:
        found: Services = self.client._transport.services  # type: ignore[attr-defined]
        return found

    @property
    def workspace(self) -> str:
        return self.client.workspace_name


@pytest.fixture
def live(ml_client: MLClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    services: Services = ml_client._transport.services  # type: ignore[attr-defined]
    with serve_tracking(services, ml_client.workspace_name) as uri:
        created = httpx.post(
            f"{uri}/api/2.0/mlflow/runs/create", json={"experiment_id": "0", "run_name": "live"}
        )
        assert created.status_code == 200, created.text
        run_id = created.json()["run"]["info"]["run_id"]
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        monkeypatch.setenv("MLFLOW_RUN_ID", run_id)
        monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "Default")
        monkeypatch.setenv("ORCHARD_WORKSPACE", ml_client.workspace_name)
        monkeypatch.setenv("ORCHARD_HOME", str(ml_client.settings.home))
        monkeypatch.setenv("ORCHARD_DATABASE_URL", ml_client.settings.database_url)
        run = Run.get_context(allow_offline=False)
        yield Live(run, run_id, uri, ml_client)
        run._client.close()


def png(width: int = 2, height: int = 1) -> bytes:
    """A real PNG: a signature, IHDR, one IDAT of grey pixels, IEND."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Plot:
    """What log_image's `plot` needs from a matplotlib figure: `savefig(stream, format=)`."""

    def __init__(self) -> None:
        self.formats: list[str] = []

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
        self.formats.append(kwargs["format"])
        fname.write(png(3, 3))


def history(live: Live, key: str) -> list[tuple[int, float]]:
    points, _ = live.services.runs.metric_history(live.workspace, live.run_id, key)
    return [(p.step, p.value) for p in points]


def artifact(live: Live, path: str) -> bytes:
    root = live.services.artifacts.run_root(live.workspace, live.run_id)
    return b"".join(live.services.artifacts.read(live.workspace, f"{root}/{path}"))


def test_numbers_are_metrics_with_steps_and_text_is_a_tag(live: Live) -> None:
    run = live.run
    assert Run.get_context() is run and type(run) is Run
    assert run.id == live.run_id and run.display_name == "live"
    for loss in (1.0, 0.5, 0.25):
        run.log("loss", loss)
    run.log("accuracy", 0.9, step=10)
    run.log("accuracy", 0.95)
    run.log("flag", True)
    run.log("optimizer", "adam")
    run.log("nan", float("nan"))
    assert history(live, "loss") == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert history(live, "accuracy") == [(10, 0.9), (11, 0.95)]
    assert history(live, "flag") == [(0, 1.0)]
    tags = live.services.runs.get(live.workspace, live.run_id).tags
    assert tags["optimizer"] == "adam" and "optimizer" not in run.get_metrics()
    metrics = run.get_metrics()
    assert metrics["loss"] == [1.0, 0.5, 0.25] and metrics["flag"] == 1.0
    assert metrics["nan"] != metrics["nan"]  # NaN made the round trip


def test_log_list_is_sent_in_batches_of_at_most_a_thousand(live: Live) -> None:
    values = [i / 10 for i in range(2500)]
    live.run.log_list("curve", values)
    live.run.log_list("curve", [7.0])
    assert history(live, "curve") == [*enumerate(values), (2500, 7.0)]
    live.run.log_list("labels", ["a", "b"])
    assert live.run.get_tags()["labels"] == '["a", "b"]'


def test_rows_and_tables_are_a_table_artifact_and_metrics(live: Live) -> None:
    run = live.run
    run.table_write_seconds = 3600.0  # only the first row is written before a flush
    run.log_row("epochs", epoch=1, acc=0.5)
    cells: dict[str, Any] = {"epoch": 2, "acc": 0.75, "note": "last", "bad(%)": 3}
    run.log_row("epochs", **cells)
    assert json.loads(artifact(live, "epochs.json"))["data"] == [[1, 0.5]]
    run.flush()
    assert json.loads(artifact(live, "epochs.json")) == {
        "columns": ["epoch", "acc", "note", "bad(%)"],
        "data": [[1, 0.5, None, None], [2, 0.75, "last", 3]],
    }
    assert history(live, "epochs.acc") == [(0, 0.5), (1, 0.75)]
    assert history(live, "epochs.bad(%)") == []  # not a metric name MLflow allows
    run.log_table("epochs", {"epoch": [3], "acc": [0.8]})  # appends to the same table
    run.log_table("scores", {"k": np.arange(1, 4), "f1": [0.5, 0.6, 0.7]})
    assert json.loads(artifact(live, "scores.json"))["data"] == [[1, 0.5], [2, 0.6], [3, 0.7]]
    assert history(live, "epochs.acc")[-1] == (2, 0.8)
    listed = json.loads(run.get_tags()[LOGGED_ARTIFACTS_TAG])
    assert listed == [
        {"path": "epochs.json", "type": "table"},
        {"path": "scores.json", "type": "table"},
    ]
    assert run.get_metrics("scores") == {"scores": {"k": [1, 2, 3], "f1": [0.5, 0.6, 0.7]}}
    assert run.get_metrics()["epochs"]["epoch"] == [1, 2, 3]


def test_tables_continue_where_the_run_left_them(live: Live) -> None:
    live.run.log_table("t", {"a": [1, 2]})
    other = Run(live.run._client, live.run_id, live.run.experiment)  # a second process
    other.log_row("t", a=3)
    assert json.loads(artifact(live, "t.json"))["data"] == [[1], [2], [3]]
    assert history(live, "t.a") == [(0, 1.0), (1, 2.0), (2, 3.0)]


def test_images_files_and_folders_are_artifacts(live: Live, tmp_path: Path) -> None:
    run = live.run
    (tmp_path / "confusion.png").write_bytes(png())
    run.log_image("confusion", path=tmp_path / "confusion.png")
    plot = Plot()
    run.log_image("roc", plot=plot)
    (tmp_path / "notes.txt").write_text("fitted")
    run.upload_file("extras/notes.txt", str(tmp_path / "notes.txt"))
    run.upload_file("stream.bin", io.BytesIO(b"\x00\x01"))
    run.upload_file("text.txt", io.StringIO("héllo"))
    (tmp_path / "bundle" / "sub").mkdir(parents=True)
    (tmp_path / "bundle" / "a.txt").write_text("a")
    (tmp_path / "bundle" / "sub" / "b c.txt").write_text("b")
    run.upload_folder("bundle", tmp_path / "bundle")
    assert artifact(live, "confusion.png") == png()
    assert artifact(live, "roc.png") == png(3, 3) and plot.formats == ["png"]
    assert artifact(live, "bundle/sub/b c.txt") == b"b"
    assert run.get_file_names() == [
        "bundle/a.txt",
        "bundle/sub/b c.txt",
        "confusion.png",
        "extras/notes.txt",
        "roc.png",
        "stream.bin",
        "text.txt",
    ]
    assert artifact(live, "text.txt") == "héllo".encode()
    run.download_file("extras/notes.txt", tmp_path / "got")
    assert (tmp_path / "got").read_text() == "fitted"
    (tmp_path / "folder").mkdir()
    run.download_file("stream.bin", tmp_path / "folder")
    assert (tmp_path / "folder" / "stream.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(NotFound):
        run.upload_file("x", tmp_path / "missing.txt")


def test_register_model_uploads_a_local_path_the_run_has_not_yet(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "model.pkl").write_bytes(b"weights")
    model = live.run.register_model(
        "clf", "./outputs/model.pkl", tags={"kind": "demo"}, properties={"auc": 0.9}
    )
    assert (model.name, model.version, model.id) == ("clf", 1, "clf:1")
    assert model.source == f"runs:/{live.run_id}/outputs/model.pkl"
    assert artifact(live, "outputs/model.pkl") == b"weights"
    again = live.run.register_model("clf", "outputs/model.pkl", description="second")
    assert again.version == 2
    stored = live.client.models.get("clf", "2")
    assert stored.job_name == live.run_id and stored.description == "second"
    assert live.client.models.get("clf", "1").tags == {"kind": "demo", "auc": "0.9"}
    fetched = live.client.models.download("clf", "1", download_path=tmp_path / "m")
    assert fetched.read_bytes() == b"weights"
    with pytest.raises(NotFound, match="neither an artifact"):
        live.run.register_model("clf", "outputs/absent.pkl")


def test_server_errors_keep_their_message(live: Live) -> None:
    with pytest.raises(ValidationError, match="may only contain"):
        live.run.log("bad name!", 1.0)
    with pytest.raises(ValidationError, match="artifact path"):
        live.run.upload_file("../escape.txt", io.BytesIO(b"x"))


def test_status_experiment_and_workspace(live: Live) -> None:
    run = live.run
    assert run.get_status() == "Running"
    assert run.experiment.name == "Default"
    workspace = run.experiment.workspace
    assert workspace.name == live.workspace
    assert workspace.ml_client.workspace_name == live.workspace
    run.fail(error_details="diverged", error_code="NaNLoss")
    assert run.get_status() == "Failed"
    assert run.get_tags()["orchard.run.error"] == "diverged"
    run.complete()
    assert run.get_status() == "Completed"
    workspace.close()
