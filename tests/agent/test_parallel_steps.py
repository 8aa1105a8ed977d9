"""Parallel steps in pipelines that really run: the step is a command job running the
parallel driver, its mini-batches in worker processes, its rows in the step's output."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from orchard.entities.loaders import load_component, load_job
from orchard.entities.pipelines import PipelineJob
from orchard.sdk.client import MLClient
from pipeline_helpers import SCHEMA, run_pipeline, statuses, write_project

SCORE = """
    import argparse, pathlib

    def init():
        global prefix
        parser = argparse.ArgumentParser()
        parser.add_argument("--prefix")
        prefix = parser.parse_args().prefix

    def run(mini_batch):
        rows = []
        for path in mini_batch:
            value = int(pathlib.Path(path).read_text())
            if value == 7 and pathlib.Path("fail_on_seven").exists():
                raise ValueError("seven is not allowed")
            rows.append(f"{prefix} {pathlib.Path(path).name} {value * 10}")
        return rows
"""

BY_REGION = """
    def init():
        pass

    def run(mini_batch, mini_batch_context):
        region = mini_batch_context.partition_key_value["region"]
        total = mini_batch["amount"].sum()
        return [f"{mini_batch_context.dataset} {region} {total} {len(mini_batch)}"]
"""


def parallel_step(**overrides: Any) -> dict[str, Any]:
    step: dict[str, Any] = {
        "type": "parallel",
        "inputs": {"numbers": "${{parent.jobs.make.outputs.out}}"},
        "outputs": {"scores": {"type": "uri_file"}},
        "input_data": "${{inputs.numbers}}",
        "mini_batch_size": "5",
        "max_concurrency_per_instance": 2,
        "retry_settings": {"max_retries": 1, "timeout": 60},
        "task": {
            "type": "run_function",
            "code": "./score",
            "entry_script": "score.py",
            "program_arguments": "--prefix row",
            "append_row_to": "${{outputs.scores}}",
        },
    }
    return step | overrides


def write_parallel_project(folder: Path, step: dict[str, Any]) -> Path:
    write_project(folder)
    (folder / "score").mkdir()
    (folder / "score" / "score.py").write_text(textwrap.dedent(SCORE))
    spec = {
        "$schema": f"{SCHEMA}/pipelineJob.schema.json",
        "type": "pipeline",
        "jobs": {
            "make": {"type": "command", "component": "./make.yml", "inputs": {"n": 12}},
            "score": step,
        },
    }
    path = folder / "parallel.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def load_pipeline(path: Path) -> PipelineJob:
    job = load_job(path)
    assert isinstance(job, PipelineJob)
    return job


def downloaded(ml_client: MLClient, job: str, output: str, tmp_path: Path) -> Path:
    target = tmp_path / f"download-{job}"
    ml_client.jobs.download(job, target, output_name=output)
    return target / "named-outputs" / output


def test_a_parallel_step_scores_every_file_and_appends_rows_in_mini_batch_order(
    ml_client: MLClient, tmp_path: Path
) -> None:
    path = write_parallel_project(tmp_path, parallel_step())
    done, log = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Completed", (done.error, log)
    assert statuses(ml_client, done.name or "") == {"make": "Completed", "score": "Completed"}
    child = f"{done.name}_score"
    scores = downloaded(ml_client, child, "scores", tmp_path)
    names = sorted(f"f{i}.txt" for i in range(12))  # the order the driver lists them in
    expected = [f"row {name} {int(name[1:-4]) * 10}" for name in names]
    assert scores.read_text().splitlines() == expected
    step_log = downloaded_log(ml_client, child, tmp_path)
    assert "mini-batches: 3 total, 3 done, 0 failed" in step_log


def downloaded_log(ml_client: MLClient, job: str, tmp_path: Path) -> str:
    target = tmp_path / f"logs-{job}"
    ml_client.jobs.download(job, target)
    return (target / "artifacts" / "user_logs" / "std_log.txt").read_text()


def test_a_failing_mini_batch_past_the_threshold_fails_the_step_and_names_the_error(
    ml_client: MLClient, tmp_path: Path
) -> None:
    step = parallel_step(mini_batch_error_threshold=0)
    path = write_parallel_project(tmp_path, step)
    (tmp_path / "score" / "fail_on_seven").write_text("")
    done, _ = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Failed"
    assert statuses(ml_client, done.name or "")["score"] == "Failed"
    child = ml_client.jobs.get(f"{done.name}_score")
    assert child.error is not None
    tail = str(child.error.get("log_tail", ""))
    assert "ValueError: seven is not allowed" in tail
    assert "more than mini_batch_error_threshold 0" in tail


def test_a_failing_mini_batch_within_the_threshold_leaves_its_rows_out(
    ml_client: MLClient, tmp_path: Path
) -> None:
    path = write_parallel_project(tmp_path, parallel_step(mini_batch_error_threshold=1))
    (tmp_path / "score" / "fail_on_seven").write_text("")
    done, log = run_pipeline(ml_client, load_pipeline(path))
    assert done.status == "Completed", (done.error, log)
    scores = downloaded(ml_client, f"{done.name}_score", "scores", tmp_path)
    rows = scores.read_text().splitlines()
    # f7.txt sorts into the second mini-batch (f3 to f7): retried once, then dropped.
    kept = ["f0.txt", "f1.txt", "f10.txt", "f11.txt", "f2.txt", "f8.txt", "f9.txt"]
    assert [row.split()[1] for row in rows] == kept


def test_a_registered_parallel_component_partitions_a_table_by_key(
    ml_client: MLClient, tmp_path: Path
) -> None:
    code = tmp_path / "regions"
    code.mkdir()
    (code / "by_region.py").write_text(textwrap.dedent(BY_REGION))
    table = tmp_path / "sales"
    table.mkdir()
    rows = ["region,amount", "north,1", "south,10", "north,2", "east,100", "south,20"]
    (table / "sales.csv").write_text("\n".join(rows) + "\n")
    (table / "MLTable").write_text(
        yaml.safe_dump(
            {
                "paths": [{"file": "./sales.csv"}],
                "transformations": [{"read_delimited": {"delimiter": ","}}],
            }
        )
    )
    component = {
        "$schema": f"{SCHEMA}/parallelComponent.schema.json",
        "name": "sum_by_region",
        "version": "1",
        "type": "parallel",
        "inputs": {"sales": {"type": "mltable"}},
        "outputs": {"totals": {"type": "uri_folder"}},
        "input_data": "${{inputs.sales}}",
        "partition_keys": ["region"],
        "task": {
            "type": "run_function",
            "code": "./regions",
            "entry_script": "by_region.py",
            "append_row_to": "${{outputs.totals}}",
        },
    }
    (tmp_path / "component.yml").write_text(yaml.safe_dump(component))
    registered = ml_client.components.create_or_update(load_component(tmp_path / "component.yml"))
    assert registered.type == "parallel"
    spec = {
        "type": "pipeline",
        "inputs": {"sales": {"type": "mltable", "path": "./sales", "mode": "direct"}},
        "jobs": {
            "totals": {
                "type": "parallel",
                "component": "azureml:sum_by_region:1",
                "inputs": {"sales": "${{parent.inputs.sales}}"},
                "logging_level": "debug",
            }
        },
    }
    (tmp_path / "pipeline.yml").write_text(yaml.safe_dump(spec))
    done, log = run_pipeline(ml_client, load_pipeline(tmp_path / "pipeline.yml"))
    assert done.status == "Completed", (done.error, log)
    folder = downloaded(ml_client, f"{done.name}_totals", "totals", tmp_path)
    # One mini-batch per region, in key order; the dataset is the input's name.
    assert (folder / "parallel_run_step.txt").read_text().splitlines() == [
        "sales east 100 1",
        "sales north 3 2",
        "sales south 30 2",
    ]


def test_a_dsl_pipeline_of_a_command_job_and_a_parallel_run_function(
    ml_client: MLClient, tmp_path: Path
) -> None:
    from orchard import Input, Output, command, dsl
    from orchard.parallel import RunFunction, parallel_run_function

    write_parallel_project(tmp_path, parallel_step())
    make = command(
        code=tmp_path / "src",
        command="python make.py ${{inputs.n}} ${{outputs.out}}",
        inputs={"n": 6},
        outputs={"out": Output(type="uri_folder")},
    )
    score = parallel_run_function(
        name="score_files",
        inputs={"numbers": Input(type="uri_folder")},
        outputs={"scores": Output(type="uri_folder")},
        input_data="${{inputs.numbers}}",
        mini_batch_size=2,
        instance_count=2,
        task=RunFunction(
            code=tmp_path / "score",
            entry_script="score.py",
            program_arguments="--prefix sdk",
            append_row_to="${{outputs.scores}}",
        ),
    )

    @dsl.pipeline()
    def scoring(count: int) -> dict[str, object]:
        numbers = make(n=count)
        scored = score(numbers=numbers.outputs.out)
        return {"scores": scored.outputs.scores}

    job = scoring(count=4)
    assert [step.type for step in job.jobs.values()] == ["command", "parallel"]
    done, log = run_pipeline(ml_client, job)
    assert done.status == "Completed", (done.error, log)
    rows = downloaded(ml_client, done.name or "", "scores", tmp_path) / "parallel_run_step.txt"
    assert rows.read_text().splitlines() == [f"sdk f{i}.txt {i * 10}" for i in range(4)]
