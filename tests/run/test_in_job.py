"""An Azure ML SDK v1 script, changed only in its imports, run as a real command job.

One job per store back end runs the rich script, and one test reads back what it logged
through the SDK and the services (one test, so parallel workers never run the job twice).
A second job fails half-way: what it logged before the error stays, and the table rows
it had not written yet are written as it exits.
"""

from __future__ import annotations

import io
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from orchard import command
from orchard.entities import Data
from orchard.entities.jobs import CommandJob
from orchard.sdk.client import MLClient
from orchard.services import Services

SCRIPT = """
import io, json, pathlib

from orchard.run import Run
from orchard import Dataset

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63680000008200815d1a4d3a0000000049454e44ae426082"
)


class Figure:  # what matplotlib's savefig does, without needing matplotlib
    def savefig(self, fname, format="png"):
        fname.write(PNG)


run = Run.get_context(allow_offline=False)
for loss in [1.0, 0.5, 0.25]:
    run.log("loss", loss)
run.log("accuracy", 0.9, step=10)
run.log("optimizer", "adam")
run.log_list("curve", [0.1, 0.2, 0.3, 0.4])
run.log_row("epochs", epoch=1, acc=0.5)
run.log_row("epochs", epoch=2, acc=0.75, note="last")
run.log_table("scores", {"k": [1, 2, 3], "f1": [0.5, 0.6, 0.7]})
run.set_tags({"team": "ml"})
run.tag("quick")

pathlib.Path("confusion.png").write_bytes(PNG)
run.log_image("confusion", path="confusion.png")
run.log_image("roc", plot=Figure())
pathlib.Path("notes.txt").write_text("fitted on rows")
run.upload_file("extras/notes.txt", "notes.txt")
pathlib.Path("bundle/sub").mkdir(parents=True)
pathlib.Path("bundle/a.txt").write_text("a")
pathlib.Path("bundle/sub/b.txt").write_text("b")
run.upload_folder("bundle", "bundle")

pathlib.Path("outputs").mkdir(exist_ok=True)
pathlib.Path("outputs/model.pkl").write_bytes(b"weights")
model = run.register_model(
    model_name="rows-model",
    model_path="outputs/model.pkl",
    tags={"kind": "demo"},
    properties={"auc": 0.9},
    description="fitted in a job",
)
print("registered", model.name, model.version)

ws = run.experiment.workspace
rows = Dataset.get_by_name(ws, name="rows")
print("rows read", len(rows.to_pandas_dataframe()), rows.name, rows.version)
files = Dataset.get_by_name(ws, "rows", version="1").download(target_path="data", overwrite=True)
print("downloaded", [pathlib.Path(f).name for f in files])
print("metrics", json.dumps(run.get_metrics(), sort_keys=True))
print("experiment", run.experiment.name, "workspace", ws.name, "run", run.id)
run.complete()
"""

FAILING = """
from orchard.run import Run

run = Run.get_context()
run.table_write_seconds = 3600  # the second row is written only as the script exits
run.log("before", 1.0)
run.log_row("progress", step=1, value=0.5)
run.log_row("progress", step=2, value=0.25)
run.log("bad name!", 2.0)
print("not reached")
"""

MARKED_FAILED = """
import mlflow
from orchard.run import Run

run = Run.get_context()
run.log("before", 1.0)
run.fail(error_details="validation loss diverged", error_code="Diverged")
mlflow.start_run()
mlflow.end_run()  # as mlflow's atexit does: a FINISHED after the fail must not undo it
print("exits 0")
"""


@dataclass(frozen=True)
class Finished:
    client: MLClient
    job: CommandJob
    log: str
    root: Path

    @property
    def name(self) -> str:
        assert self.job.name
        return self.job.name

    @property
    def services(self) -> Services:
        found: Services = self.client._transport.services  # type: ignore[attr-defined]
        return found

    def history(self, key: str) -> list[tuple[int, float]]:
        points, _ = self.services.runs.metric_history(self.client.workspace_name, self.name, key)
        return [(p.step, p.value) for p in points]

    def artifacts(self) -> Path:
        return self.client.jobs.download(self.name, self.root / "dl", all=True) / "artifacts"


def run_script(client: MLClient, root: Path, script: str) -> Finished:
    code = root / "src"
    code.mkdir()
    (code / "train.py").write_text(textwrap.dedent(script))
    job = client.jobs.create_or_update(
        command(code=str(code), command="python train.py", experiment_name="v1-scripts")
    )
    assert job.name
    log = io.StringIO()
    done = client.jobs.stream(job.name, out=log)
    return Finished(client, done, log.getvalue(), root)


def test_a_v1_script_logs_to_its_job(ml_client: MLClient, tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,x\n2,y\n3,z\n")
    ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    done = run_script(ml_client, tmp_path, SCRIPT)
    assert done.job.status == "Completed", (done.job.error, done.log)
    check_metrics(done)
    check_what_the_script_read_back(done)
    check_tags(done)
    check_artifacts(done.artifacts())
    check_registered_model(done)
    check_dataset_read(done)


def check_metrics(done: Finished) -> None:
    assert done.history("loss") == [(0, 1.0), (1, 0.5), (2, 0.25)]
    assert done.history("accuracy") == [(10, 0.9)]
    assert done.history("curve") == [(0, 0.1), (1, 0.2), (2, 0.3), (3, 0.4)]
    assert done.history("epochs.acc") == [(0, 0.5), (1, 0.75)]
    assert done.history("scores.f1") == [(0, 0.5), (1, 0.6), (2, 0.7)]
    run = done.services.runs.get(done.client.workspace_name, done.name)
    assert run.metrics["loss"] == 0.25 and run.info.status == "FINISHED"


def check_what_the_script_read_back(done: Finished) -> None:
    line = next(x for x in done.log.splitlines() if x.startswith("metrics "))
    metrics = json.loads(line.removeprefix("metrics "))
    assert metrics["loss"] == [1.0, 0.5, 0.25] and metrics["accuracy"] == 0.9
    assert metrics["epochs"] == {"epoch": [1, 2], "acc": [0.5, 0.75], "note": [None, "last"]}
    assert metrics["scores"] == {"k": [1, 2, 3], "f1": [0.5, 0.6, 0.7]}
    assert f"experiment v1-scripts workspace {done.client.workspace_name}" in done.log
    assert f"run {done.name}" in done.log


def check_tags(done: Finished) -> None:
    tags = done.services.runs.get(done.client.workspace_name, done.name).tags
    assert tags["optimizer"] == "adam" and tags["team"] == "ml" and tags["quick"] == ""
    assert json.loads(tags["mlflow.loggedArtifacts"]) == [
        {"path": "epochs.json", "type": "table"},
        {"path": "scores.json", "type": "table"},
    ]


def check_artifacts(artifacts: Path) -> None:
    assert (artifacts / "confusion.png").read_bytes().startswith(b"\x89PNG")
    assert (artifacts / "roc.png").read_bytes() == (artifacts / "confusion.png").read_bytes()
    assert (artifacts / "extras" / "notes.txt").read_text() == "fitted on rows"
    assert (artifacts / "bundle" / "a.txt").read_text() == "a"
    assert (artifacts / "bundle" / "sub" / "b.txt").read_text() == "b"
    assert json.loads((artifacts / "epochs.json").read_text()) == {
        "columns": ["epoch", "acc", "note"],
        "data": [[1, 0.5, None], [2, 0.75, "last"]],
    }
    scores = json.loads((artifacts / "scores.json").read_text())
    assert scores["data"] == [[1, 0.5], [2, 0.6], [3, 0.7]]
    assert (artifacts / "outputs" / "model.pkl").read_bytes() == b"weights"
    assert "rows read 3" in (artifacts / "user_logs" / "std_log.txt").read_text()


def check_registered_model(done: Finished) -> None:
    assert "registered rows-model 1" in done.log
    version = done.services.model_versions.get(done.client.workspace_name, "rows-model", "1")
    assert version.run_id == done.name
    assert version.source == f"runs:/{done.name}/outputs/model.pkl"
    assert version.description == "fitted in a job"
    model = done.client.models.get("rows-model", "1")
    assert model.job_name == done.name and model.tags == {"kind": "demo", "auc": "0.9"}
    fetched = done.client.models.download("rows-model", "1", download_path=done.root / "m")
    assert fetched.read_bytes() == b"weights"


def check_dataset_read(done: Finished) -> None:
    assert "rows read 3 rows 1" in done.log
    assert "downloaded ['rows.csv']" in done.log


def test_a_failing_script_keeps_what_it_logged(ml_client: MLClient, tmp_path: Path) -> None:
    done = run_script(ml_client, tmp_path, FAILING)
    assert done.job.status == "Failed" and done.job.exit_code == 1
    assert done.job.error and "may only contain" in done.job.error["log_tail"]
    assert "not reached" not in done.log
    assert done.history("before") == [(0, 1.0)]
    assert done.history("progress.value") == [(0, 0.5), (1, 0.25)]
    table = json.loads((done.artifacts() / "progress.json").read_text())
    assert table == {"columns": ["step", "value"], "data": [[1, 0.5], [2, 0.25]]}


def test_a_script_that_fails_its_run_fails_its_job(ml_client: MLClient, tmp_path: Path) -> None:
    done = run_script(ml_client, tmp_path, MARKED_FAILED)
    assert "exits 0" in done.log
    assert done.job.status == "Failed" and done.job.exit_code == 0
    assert done.job.error == {"code": "Diverged", "message": "validation loss diverged"}
    assert done.history("before") == [(0, 1.0)]
