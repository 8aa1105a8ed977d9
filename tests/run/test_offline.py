"""Outside a job: the offline run prints what it would log and remembers it."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchard.errors import ValidationError
from orchard.run import OfflineRun, Run
from orchard.run.context import NoRunContext


def test_outside_a_job_the_context_is_one_offline_run(capsys: pytest.CaptureFixture[str]) -> None:
    run = Run.get_context()
    assert isinstance(run, OfflineRun) and isinstance(run, Run)
    assert run.id.startswith("OfflineRun_")
    assert Run.get_context() is run  # every module of a script logs to the same run
    assert run.experiment.name == "Default"
    run.log("accuracy", 0.9)
    assert capsys.readouterr().out == "Attempted to log scalar metric accuracy:\n0.9\n"


def test_offline_run_prints_each_call_and_keeps_what_it_logged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = Run.get_context()
    for loss in (1.0, 0.5, 0.25):
        run.log("loss", loss)
    run.log("late", 3, step=7)
    run.log("optimizer", "adam")
    run.log_list("curve", [0.1, 0.2])
    run.log_row("epochs", epoch=1, acc=0.5)
    run.log_row("epochs", epoch=2, acc=0.75, note="last")
    run.log_table("scores", {"k": [1, 2], "f1": [0.5, 0.6]})
    run.set_tags({"team": "ml"})
    run.tag("quick")
    (tmp_path / "notes.txt").write_text("n")
    run.upload_file("extras/notes.txt", tmp_path / "notes.txt")
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["Attempted to log scalar metric loss:", "1.0"]
    assert "Attempted to log list metric curve:" in lines
    assert "Attempted to log row metric epochs:" in lines
    assert "Attempted to log table metric scores:" in lines
    assert f"Attempted to track file extras/notes.txt at {tmp_path / 'notes.txt'}" in lines
    assert run.get_metrics() == {
        "loss": [1.0, 0.5, 0.25],
        "late": 3.0,
        "curve": [0.1, 0.2],
        "epochs.epoch": [1.0, 2.0],
        "epochs.acc": [0.5, 0.75],
        "scores.k": [1.0, 2.0],
        "scores.f1": [0.5, 0.6],
        "epochs": {"epoch": [1, 2], "acc": [0.5, 0.75], "note": [None, "last"]},
        "scores": {"k": [1, 2], "f1": [0.5, 0.6]},
    }
    assert run.get_metrics("loss") == {"loss": [1.0, 0.5, 0.25]}
    assert run.get_metrics("absent") == {}
    assert run.get_tags() == {"optimizer": "adam", "team": "ml", "quick": ""}
    assert run.get_file_names() == ["extras/notes.txt"]


def test_explicit_steps_move_the_counter_past_them() -> None:
    run = OfflineRun(Run.get_context().experiment)
    run.log("m", 1.0, step=5)
    run.log("m", 2.0)
    run.log("m", 0.5, step=2)
    assert run.get_metrics("m") == {"m": [0.5, 1.0, 2.0]}  # in step order: 2, 5, 6


def test_offline_register_model_registers_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    model = Run.get_context().register_model("m", "outputs/model.pkl")
    assert model.version is None
    assert "Attempted to register model m from outputs/model.pkl" in capsys.readouterr().out


def test_without_offline_outside_a_job_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(NoRunContext, match=r"MLFLOW_RUN_ID .* is not set"):
        Run.get_context(allow_offline=False)
    monkeypatch.setenv("AZUREML_RUN_ID", "job-1")
    with pytest.raises(NoRunContext, match="MLFLOW_TRACKING_URI is not set"):
        Run.get_context(allow_offline=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "file:///tmp/mlruns")
    with pytest.raises(NoRunContext, match="not an http"):
        Run.get_context(allow_offline=False)


def test_bad_arguments_are_named() -> None:
    run = Run.get_context()
    with pytest.raises(ValidationError, match="differ in length"):
        run.log_table("t", {"a": [1, 2], "b": [1]})
    with pytest.raises(ValidationError, match="either path or plot"):
        run.log_image("img")
