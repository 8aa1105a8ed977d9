"""Pipeline and component specs load with their files resolved where they were written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchard.entities.components import CommandComponent, PipelineComponent
from orchard.entities.loaders import load_component, load_job
from orchard.entities.pipelines import Binding, CommandStep, PipelineJob, parse_binding


@pytest.mark.parametrize(
    ("text", "binding"),
    [
        ("${{parent.inputs.lr}}", Binding("inputs", "lr")),
        ("${{ parent.outputs.model }}", Binding("outputs", "model")),
        (
            "${{parent.jobs.train-job.outputs.model_output}}",
            Binding("jobs", "train-job", "model_output"),
        ),
        ("${{inputs.lr}}", None),
        ("./data", None),
        (0.1, None),
    ],
)
def test_bindings_are_parsed(text: object, binding: Binding | None) -> None:
    assert parse_binding(text) == binding
    if binding is not None:
        assert parse_binding(str(binding)) == binding


def test_a_component_file_is_read_in_with_paths_relative_to_it(tmp_path: Path) -> None:
    components = tmp_path / "components" / "train"
    components.mkdir(parents=True)
    (components / "train.yml").write_text(
        yaml.safe_dump(
            {
                "type": "command",
                "name": "train",
                "version": 3,
                "code": "./src",
                "additional_includes": ["../../shared"],
                "inputs": {"epochs": "integer", "data": {"type": "uri_folder"}},
                "outputs": {"model": None},
                "command": "python train.py ${{inputs.epochs}}",
            }
        )
    )
    pipeline = {
        "type": "pipeline",
        "inputs": {"epochs": 5, "ratio": 0.2, "flag": True, "name": "x"},
        "jobs": {
            "train": {
                "component": "./components/train/train.yml",
                "inputs": {"epochs": "${{parent.inputs.epochs}}", "data": {"path": "./data"}},
            },
            "hello": {"command": "echo hi", "code": "./hello"},
        },
    }
    (tmp_path / "pipeline.yml").write_text(yaml.safe_dump(pipeline))
    job = load_job(tmp_path / "pipeline.yml")
    assert isinstance(job, PipelineJob)
    # YAML's own types are kept: a pipeline checks them against what components declare.
    assert job.inputs == {"epochs": 5, "ratio": 0.2, "flag": True, "name": "x"}
    step = job.jobs["train"]
    assert isinstance(step, CommandStep) and isinstance(step.component, CommandComponent)
    assert step.component.code == str(components / "src")
    assert step.component.additional_includes == [str(tmp_path / "shared")]
    assert step.component.inputs["epochs"].type == "integer"
    assert step.component.outputs["model"].type == "uri_folder"
    assert step.inputs["data"].path == str(tmp_path / "data")  # type: ignore[union-attr]
    hello = job.jobs["hello"]
    assert isinstance(hello, CommandStep) and hello.code == str(tmp_path / "hello")


def test_a_pipeline_component_loads_its_steps(tmp_path: Path) -> None:
    (tmp_path / "inner.yml").write_text(
        yaml.safe_dump(
            {
                "type": "command",
                "name": "inner",
                "command": "echo ${{inputs.x}}",
                "inputs": {"x": {"type": "string"}},
            }
        )
    )
    (tmp_path / "outer.yml").write_text(
        yaml.safe_dump(
            {
                "type": "pipeline",
                "name": "outer",
                "inputs": {"x": {"type": "string"}},
                "jobs": {
                    "a": {"component": "file:inner.yml", "inputs": {"x": "${{parent.inputs.x}}"}}
                },
            }
        )
    )
    component = load_component(tmp_path / "outer.yml")
    assert isinstance(component, PipelineComponent)
    inner = component.jobs["a"]
    assert isinstance(inner, CommandStep) and isinstance(inner.component, CommandComponent)
    assert inner.component.name == "inner"


def test_an_unknown_component_type_is_named(tmp_path: Path) -> None:
    from orchard.errors import SpecError

    (tmp_path / "c.yml").write_text(yaml.safe_dump({"type": "spark", "name": "s"}))
    with pytest.raises(SpecError, match="component type 'spark' is not supported"):
        load_component(tmp_path / "c.yml")


PARALLEL_COMPONENT = """
$schema: http://azureml/sdk-2-0/ParallelComponent.json
name: batch_score
type: parallel
version: 1.0.0
inputs:
  input_data: {type: mltable, optional: false}
  score_model: {type: uri_folder}
outputs:
  job_output_file: {type: uri_file}
input_data: ${{inputs.input_data}}
mini_batch_size: "10kb"
partition_keys: [Store, Brand]
resources: {instance_count: 2}
max_concurrency_per_instance: 2
logging_level: "DEBUG"
error_threshold: 5
mini_batch_error_threshold: 4
retry_settings: {max_retries: 2, timeout: 60}
environment_variables: {"AZUREML_PARALLEL_EXAMPLE": 2}
task:
  type: run_function
  code: "./script"
  entry_script: score.py
  environment:
    image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
    conda_file: ./env.yml
  program_arguments: >-
    --model ${{inputs.score_model}}
    --allowed_failed_percent 30
  append_row_to: ${{outputs.job_output_file}}
"""


def test_a_parallel_component_loads_with_its_task_files_read_in(tmp_path: Path) -> None:
    from orchard.entities.components import ParallelComponent
    from orchard.parallel.command import driver_command

    (tmp_path / "env.yml").write_text("dependencies: [python=3.11, {pip: [pandas]}]\n")
    (tmp_path / "component.yml").write_text(PARALLEL_COMPONENT)
    component = load_component(tmp_path / "component.yml")
    assert isinstance(component, ParallelComponent)
    assert component.task.code == str(tmp_path / "script")
    assert component.task.environment is not None
    assert not isinstance(component.task.environment, str)
    assert component.task.environment.conda_file == {
        "dependencies": ["python=3.11", {"pip": ["pandas"]}]
    }
    assert component.environment_variables == {"AZUREML_PARALLEL_EXAMPLE": "2"}
    assert component.worker_count == 4
    command = driver_command(component, input_type="mltable", append_to_file=True)
    # Given both, partition keys split the input and mini_batch_size is not used (Azure's rule).
    assert "--partition-keys Store,Brand" in command and "--mini-batch-size" not in command
    assert "--output-file ${{outputs.job_output_file}}" in command
    assert (
        "--program-arguments '--model ${{inputs.score_model}} --allowed_failed_percent 30'"
        in command
    )


def test_a_parallel_step_overrides_its_component_settings(tmp_path: Path) -> None:
    from orchard.entities.components import ParallelComponent
    from orchard.entities.pipelines import ParallelStep

    (tmp_path / "env.yml").write_text("dependencies: [python=3.11]\n")
    (tmp_path / "component.yml").write_text(PARALLEL_COMPONENT)
    component = load_component(tmp_path / "component.yml")
    step = ParallelStep(component=component, mini_batch_size="1mb", logging_level="warning")
    runs = step.specialise(component)
    assert isinstance(runs, ParallelComponent)
    assert (runs.mini_batch_size, runs.logging_level) == ("1mb", "WARNING")
    assert (runs.max_concurrency_per_instance, runs.partition_keys) == (2, ["Store", "Brand"])
    assert component.mini_batch_size == "10kb"  # the registered component is untouched
