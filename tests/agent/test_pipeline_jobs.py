"""Pipeline jobs that really run: each step a child job forked by the pipeline's runner,
data passed from step to step through the datastore."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest
import yaml

from orchard.entities.loaders import load_job
from orchard.entities.pipelines import PipelineJob
from orchard.sdk.client import MLClient
from pipeline_helpers import PIPELINE, run_pipeline, statuses, write_project


def load_pipeline(path: Path) -> PipelineJob:
    job = load_job(path)
    assert isinstance(job, PipelineJob)
    return job


def report_of(ml_client: MLClient, pipeline: str, tmp_path: Path) -> float:
    target = tmp_path / f"download-{pipeline}"
    ml_client.jobs.download(pipeline, target, output_name="report")
    return float((target / "named-outputs" / "report" / "report.txt").read_text())


def test_steps_pass_data_downstream_and_the_pipeline_output_is_where_the_step_wrote(
    ml_client: MLClient, tmp_path: Path
) -> None:
    done, log = run_pipeline(ml_client, load_pipeline(write_project(tmp_path)))
    assert done.status == "Completed", (done.error, log)
    assert statuses(ml_client, done.name or "") == {"make": "Completed", "tally": "Completed"}
    # make wrote 0..3, tally summed them (6) times scale 2.0
    assert report_of(ml_client, done.name or "", tmp_path) == 12.0
    children = ml_client.jobs.list(parent_job_name=done.name)
    assert sorted(c.name or "" for c in children) == [f"{done.name}_make", f"{done.name}_tally"]
    assert all(c.experiment_name == "pipelines" for c in children)


def test_independent_steps_run_at_the_same_time(ml_client: MLClient, tmp_path: Path) -> None:
    # Each step announces itself, then waits for the other's announcement: both complete
    # only if they run side by side.
    meet = tmp_path / "meeting"
    meet.mkdir()
    script = f"""
        import pathlib, sys, time
        me, other = sys.argv[1], sys.argv[2]
        folder = pathlib.Path({str(meet)!r})
        (folder / me).write_text("here")
        deadline = time.monotonic() + 60
        while not (folder / other).exists():
            if time.monotonic() > deadline:
                sys.exit("the other step never ran alongside")
            time.sleep(0.01)
        print(me, "met", other)
    """
    write_project(tmp_path)
    (tmp_path / "src" / "meet.py").write_text(textwrap.dedent(script))
    step = {"code": "./src", "command": "python meet.py {} {}"}
    spec = {
        "type": "pipeline",
        "jobs": {
            "left": {**step, "command": step["command"].format("left", "right")},
            "right": {**step, "command": step["command"].format("right", "left")},
        },
    }
    path = tmp_path / "meet.yml"
    path.write_text(yaml.safe_dump(spec))
    done, log = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Completed", (done.error, log)
    assert sorted(p.name for p in meet.iterdir()) == ["left", "right"]


def test_a_failed_step_fails_the_pipeline_and_skips_what_depends_on_it(
    ml_client: MLClient, tmp_path: Path
) -> None:
    spec = copy.deepcopy(PIPELINE)
    spec["jobs"]["make"]["component"] = "./flaky.yml"
    spec["jobs"]["make"]["inputs"] = {}
    done, log = run_pipeline(ml_client, load_pipeline(write_project(tmp_path, spec)))
    assert done.status == "Failed"
    assert done.error and done.error["code"] == "StepFailed"
    assert "'make'" in done.error["message"] and "exited with code 1" in done.error["message"]
    assert statuses(ml_client, done.name or "") == {"make": "Failed", "tally": "Skipped"}
    assert "step tally Skipped" in log


def test_continue_on_step_failure_still_runs_the_independent_steps(
    ml_client: MLClient, tmp_path: Path
) -> None:
    spec = copy.deepcopy(PIPELINE)
    spec["settings"] = {"continue_on_step_failure": True}
    spec["jobs"]["broken"] = {"type": "command", "component": "./flaky.yml"}
    spec["jobs"]["after_broken"] = {
        "component": "./tally.yml",
        "inputs": {"data": "${{parent.jobs.broken.outputs.out}}"},
    }
    done, _ = run_pipeline(ml_client, load_pipeline(write_project(tmp_path, spec)))
    assert done.status == "Failed"
    assert statuses(ml_client, done.name or "") == {
        "make": "Completed",
        "tally": "Completed",
        "broken": "Failed",
        "after_broken": "Skipped",
    }


def test_a_rerun_with_nothing_changed_reuses_every_step(
    ml_client: MLClient, tmp_path: Path
) -> None:
    job = load_pipeline(write_project(tmp_path))
    first, _ = run_pipeline(ml_client, job)
    second, log = run_pipeline(ml_client, job)
    assert second.status == "Completed", log
    assert statuses(ml_client, second.name or "") == {"make": "Reused", "tally": "Reused"}
    graph = ml_client.jobs.graph(second.name or "")
    assert {n.name: n.reused_from for n in graph.nodes} == {
        "make": f"{first.name}_make",
        "tally": f"{first.name}_tally",
    }
    # The reused pipeline's output is the first run's.
    assert report_of(ml_client, second.name or "", tmp_path) == 12.0


def test_a_changed_parameter_reruns_its_step_and_everything_downstream(
    ml_client: MLClient, tmp_path: Path
) -> None:
    job = load_pipeline(write_project(tmp_path))
    run_pipeline(ml_client, job)
    changed = job.model_copy(deep=True)
    changed.inputs["scale"] = 10.0  # only tally reads it
    second, _ = run_pipeline(ml_client, changed)
    assert statuses(ml_client, second.name or "") == {"make": "Reused", "tally": "Completed"}
    assert report_of(ml_client, second.name or "", tmp_path) == 60.0
    fewer = job.model_copy(deep=True)
    fewer.inputs["count"] = 2  # make reruns, so tally reads new data and reruns too
    third, _ = run_pipeline(ml_client, fewer)
    assert statuses(ml_client, third.name or "") == {"make": "Completed", "tally": "Completed"}
    assert report_of(ml_client, third.name or "", tmp_path) == 2.0


def test_force_rerun_and_non_deterministic_components_turn_reuse_off(
    ml_client: MLClient, tmp_path: Path
) -> None:
    job = load_pipeline(write_project(tmp_path))
    run_pipeline(ml_client, job)
    forced = job.model_copy(deep=True)
    forced.settings.force_rerun = True
    again, _ = run_pipeline(ml_client, forced)
    assert statuses(ml_client, again.name or "") == {"make": "Completed", "tally": "Completed"}
    spec = copy.deepcopy(PIPELINE)
    spec["jobs"]["make"]["is_deterministic"] = False
    path = write_project(tmp_path / "nondeterministic", spec)
    third, _ = run_pipeline(ml_client, load_pipeline(path))
    assert statuses(ml_client, third.name or "")["make"] == "Completed"


def test_changed_input_files_rerun_the_steps_that_read_them(
    ml_client: MLClient, tmp_path: Path
) -> None:
    data = tmp_path / "numbers"
    data.mkdir()
    (data / "a.txt").write_text("5")
    spec = copy.deepcopy(PIPELINE)
    spec["inputs"] = {"numbers": {"type": "uri_folder", "path": "./numbers"}}
    spec["jobs"] = {
        "tally": {
            "component": "./tally.yml",
            "inputs": {"data": "${{parent.inputs.numbers}}"},
            "outputs": {"report": "${{parent.outputs.report}}"},
        }
    }
    path = write_project(tmp_path, spec)
    first, _ = run_pipeline(ml_client, load_pipeline(path))
    second, _ = run_pipeline(ml_client, load_pipeline(path))
    assert statuses(ml_client, second.name or "") == {"tally": "Reused"}
    (data / "b.txt").write_text("7")
    third, _ = run_pipeline(ml_client, load_pipeline(path))
    assert statuses(ml_client, third.name or "") == {"tally": "Completed"}
    assert report_of(ml_client, first.name or "", tmp_path) == 5.0
    assert report_of(ml_client, third.name or "", tmp_path) == 12.0


def test_a_pipeline_component_runs_as_a_nested_pipeline(
    ml_client: MLClient, tmp_path: Path
) -> None:
    write_project(tmp_path)
    inner = {
        "$schema": "https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json",
        "type": "pipeline",
        "name": "make_then_tally",
        "inputs": {"count": {"type": "integer"}, "scale": {"type": "number", "default": 3}},
        "outputs": {"report": {"type": "uri_folder"}},
        "jobs": copy.deepcopy(PIPELINE["jobs"]),
    }
    (tmp_path / "inner.yml").write_text(yaml.safe_dump(inner))
    outer = {
        "type": "pipeline",
        "inputs": {"how_many": 3},
        "outputs": {"report": {}},
        "jobs": {
            "nested": {
                "type": "pipeline",
                "component": "./inner.yml",
                "inputs": {"count": "${{parent.inputs.how_many}}"},
                "outputs": {"report": "${{parent.outputs.report}}"},
            }
        },
    }
    path = tmp_path / "outer.yml"
    path.write_text(yaml.safe_dump(outer))
    done, log = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Completed", (done.error, log)
    child = ml_client.jobs.get(f"{done.name}_nested")
    assert isinstance(child, PipelineJob) and child.status == "Completed"
    assert statuses(ml_client, child.name or "") == {"make": "Completed", "tally": "Completed"}
    assert report_of(ml_client, done.name or "", tmp_path) == 9.0  # (0+1+2) * 3


def test_registered_components_and_a_registered_pipeline_output(
    ml_client: MLClient, tmp_path: Path
) -> None:
    from orchard.entities.loaders import load_component

    write_project(tmp_path)
    for name in ("make", "tally"):
        ml_client.components.create_or_update(load_component(tmp_path / f"{name}.yml"))
    spec = copy.deepcopy(PIPELINE)
    spec["jobs"]["make"]["component"] = "azureml:make_numbers:1"
    spec["jobs"]["tally"]["component"] = "azureml:tally@latest"
    spec["outputs"]["report"] = {"name": "tally-report", "type": "uri_folder"}
    path = tmp_path / "registered.yml"
    path.write_text(yaml.safe_dump(spec))
    done, log = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Completed", (done.error, log)
    graph = ml_client.jobs.graph(done.name or "")
    assert {n.name: n.component for n in graph.nodes} == {
        "make": "make_numbers:1",
        "tally": "tally:1",
    }
    registered = ml_client.data.get("tally-report", version="1")
    assert registered.path == ml_client.jobs.get(f"{done.name}_tally").outputs["report"].path  # type: ignore[union-attr]


def test_additional_includes_are_copied_into_the_snapshot(
    ml_client: MLClient, tmp_path: Path
) -> None:
    write_project(tmp_path)
    shared = tmp_path / "shared_lib"
    shared.mkdir()
    (shared / "helpers.py").write_text("GREETING = 'hello from an include'\n")
    (tmp_path / "src" / "greet.py").write_text(
        "from shared_lib.helpers import GREETING\nprint(GREETING)\n"
    )
    component = {
        "type": "command",
        "name": "greeter",
        "code": "./src",
        "additional_includes": ["./shared_lib"],
        "command": "python greet.py",
    }
    (tmp_path / "greeter.yml").write_text(yaml.safe_dump(component))
    spec = {"type": "pipeline", "jobs": {"greet": {"component": "./greeter.yml"}}}
    path = tmp_path / "greet.yml"
    path.write_text(yaml.safe_dump(spec))
    done, log = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Completed", (done.error, log)
    step_log = ml_client.jobs.download(f"{done.name}_greet", tmp_path / "greet-out")
    text = (step_log / "artifacts" / "user_logs" / "std_log.txt").read_text()
    assert "hello from an include" in text


def test_services_on_a_step_each_warn_and_the_step_runs(
    ml_client: MLClient, tmp_path: Path
) -> None:
    write_project(tmp_path)
    spec = {
        "type": "pipeline",
        "jobs": {
            "hello": {
                "command": "echo hi",
                "services": {
                    "my_jupyter": {"type": "jupyter_lab"},
                    "my_tensorboard": {"type": "tensor_board", "log_dir": "outputs/tb"},
                },
            }
        },
    }
    path = tmp_path / "services.yml"
    path.write_text(yaml.safe_dump(spec))
    done, _ = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Completed"
    out = ml_client.jobs.download(f"{done.name}_hello", tmp_path / "svc")
    text = (out / "artifacts" / "user_logs" / "std_log.txt").read_text()
    assert text.count("Warning: service") == 2
    assert "'my_jupyter' (jupyter_lab)" in text and "hi" in text


@pytest.mark.parametrize("variant", ["dsl"])
def test_a_dsl_pipeline_names_steps_after_their_variables(
    ml_client: MLClient, tmp_path: Path, variant: str
) -> None:
    from orchard import dsl, load_component

    write_project(tmp_path)
    make = load_component(source=tmp_path / "make.yml")
    tally = load_component(source=tmp_path / "tally.yml")

    @dsl.pipeline(experiment_name="dsl-pipelines", default_compute="local")
    def counting(count: int, scale: float = 1.0) -> dict[str, object]:
        numbers = make(n=count)
        doubled = tally(data=numbers.outputs.out, scale=scale)
        tally(data=numbers.outputs.out)  # unassigned: named after its component
        return {"report": doubled.outputs.report}

    job = counting(count=5, scale=2.0)
    assert isinstance(job, PipelineJob)
    assert list(job.jobs) == ["numbers", "doubled", "tally"]
    assert job.jobs["doubled"].inputs["data"] == "${{parent.jobs.numbers.outputs.out}}"
    done, log = run_pipeline(ml_client, job)
    assert done.status == "Completed", (done.error, log)
    assert report_of(ml_client, done.name or "", tmp_path) == 20.0  # (0+..+4) * 2
    assert done.experiment_name == "dsl-pipelines"
