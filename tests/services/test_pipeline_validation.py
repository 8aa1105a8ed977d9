"""A pipeline is checked whole before anything runs: each problem is refused at submit with
a message naming the step and the field, and nothing is recorded."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from orchard.entities.loaders import load_job
from orchard.errors import ValidationError
from orchard.sdk.client import MLClient
from pipeline_helpers import PIPELINE, write_project


def submit(ml_client: MLClient, tmp_path: Path, spec: dict[str, Any]) -> None:
    ml_client.jobs.create_or_update(load_job(write_project(tmp_path, spec)))


def broken(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(PIPELINE)
    change(spec)
    return spec


def _set(path: list[str], value: Any) -> Any:
    def change(spec: dict[str, Any]) -> None:
        target = spec
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


TASK = {"code": "./src", "entry_script": "make.py", "append_row_to": "${{outputs.rows}}"}


def parallel(**fields: Any) -> dict[str, Any]:
    """An inline parallel step over make's output."""
    return {
        "type": "parallel",
        "inputs": {"numbers": "${{parent.jobs.make.outputs.out}}"},
        "outputs": {"rows": {"type": "uri_folder"}},
        "input_data": "${{inputs.numbers}}",
        "task": TASK,
    } | fields


CASES = {
    "cycle": (
        _set(
            ["jobs", "again"],
            {
                "component": "./tally.yml",
                "inputs": {"data": "${{parent.jobs.again.outputs.report}}"},
            },
        ),
        "cycle: again -> again",
    ),
    "unknown step": (
        _set(["jobs", "tally", "inputs", "data"], "${{parent.jobs.maek.outputs.out}}"),
        "names step 'maek', which the pipeline does not have",
    ),
    "unknown output": (
        _set(["jobs", "tally", "inputs", "data"], "${{parent.jobs.make.outputs.result}}"),
        "step 'make' has no output 'result' (it has out)",
    ),
    "unknown component input": (
        _set(["jobs", "make", "inputs", "count"], 3),
        "input 'count': the component has no input of that name (it has n)",
    ),
    "unbound required input": (
        _set(["jobs", "tally", "inputs"], {"scale": 1}),
        "pipeline step 'tally': input 'data' is required by the component and is not bound",
    ),
    "report into a count": (
        _set(["jobs", "make", "inputs", "n"], "${{parent.jobs.tally.outputs.report}}"),
        "input 'n' is of type integer but ${{parent.jobs.tally.outputs.report}} is of type "
        "uri_folder",
    ),
    "data into a number": (
        _set(["jobs", "tally", "inputs", "scale"], "${{parent.jobs.make.outputs.out}}"),
        "input 'scale' is of type number but ${{parent.jobs.make.outputs.out}} is of type "
        "uri_folder",
    ),
    "literal of the wrong type": (
        _set(["inputs", "count"], "many"),
        "input 'n' is of type integer but ${{parent.inputs.count}} is of type string",
    ),
    "literal above max": (
        _set(["jobs", "make", "inputs", "n"], 5000),
        "input 'n': 5000 is above its max 1000",
    ),
    "unknown parent input": (
        _set(["jobs", "make", "inputs", "n"], "${{parent.inputs.cuont}}"),
        "the pipeline has no input 'cuont' (it has count, scale)",
    ),
    "unknown pipeline output": (
        _set(["jobs", "tally", "outputs", "report"], "${{parent.outputs.final}}"),
        "is not one of the pipeline's outputs (report)",
    ),
    "missing registered component": (
        _set(["jobs", "make", "component"], "azureml:no_such_component:1"),
        "pipeline step 'make': component:",
    ),
    "unknown compute": (
        _set(["settings"], {"default_compute": "azureml:tpu-pod"}),
        "no compute named 'tpu-pod'",
    ),
    "parallel input_data not a binding": (
        _set(["jobs", "score"], parallel(input_data="./data")),
        "pipeline step 'score': input_data: './data' does not name a data input of the step; "
        "give ${{inputs.<name>}} (its data inputs: numbers)",
    ),
    "parallel input_data of a literal": (
        _set(["jobs", "score"], parallel(inputs={"numbers": 3}, input_data="${{inputs.numbers}}")),
        "input_data: '${{inputs.numbers}}' does not name a data input of the step",
    ),
    "parallel input of a model": (
        _set(
            ["jobs", "score"],
            parallel(inputs={"numbers": {"type": "custom_model", "path": "./src"}}),
        ),
        "input_data: input 'numbers' is of type custom_model; a parallel step reads uri_file, "
        "uri_folder, mltable",
    ),
    "parallel rows to an unknown output": (
        _set(["jobs", "score"], parallel(task={**TASK, "append_row_to": "${{outputs.nope}}"})),
        "task.append_row_to: '${{outputs.nope}}' does not name an output of the step",
    ),
    "unknown environment": (
        _set(["jobs", "hello"], {"command": "echo hi", "environment": "azureml:nope:1"}),
        "environment 'azureml:nope:1': no such environment",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_pipeline_is_refused_before_anything_runs(
    ml_client: MLClient, tmp_path: Path, case: str
) -> None:
    change, message = CASES[case]
    with pytest.raises(ValidationError) as refused:
        submit(ml_client, tmp_path, broken(change))
    assert message and message in refused.value.message
    assert ml_client.jobs.list() == []  # nothing half-written


def test_a_missing_component_file_is_named(tmp_path: Path) -> None:
    from orchard.errors import SpecError

    spec = broken(_set(["jobs", "make", "component"], "./does_not_exist.yml"))
    with pytest.raises(SpecError, match=r"jobs\.make\): field 'component': file .*not found"):
        load_job(write_project(tmp_path, spec))


def test_a_step_needs_a_component_or_a_command(tmp_path: Path) -> None:
    from orchard.errors import SpecError

    spec = broken(_set(["jobs", "make"], {"type": "command", "inputs": {}}))
    with pytest.raises(SpecError, match="needs a 'component' or a 'command'"):
        load_job(write_project(tmp_path, spec))


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"type": "parallel", "input_data": "${{inputs.x}}"}, "or 'input_data' and a 'task'"),
        (parallel(partition_keys=[]), "partition_keys: give one or more column names"),
    ],
)
def test_an_inline_parallel_step_is_checked_as_it_is_read(
    tmp_path: Path, step: dict[str, Any], problem: str
) -> None:
    from orchard.errors import SpecError

    with pytest.raises(SpecError, match=re.escape(problem)):
        load_job(write_project(tmp_path, broken(_set(["jobs", "score"], step))))


@pytest.mark.parametrize(
    ("size", "problem"),
    [("ten", "'ten' is not a size"), ("0", "'0' is not a size"), ("5tb", "'5tb' is not a size")],
)
def test_a_mini_batch_size_that_is_not_a_size_is_named(
    tmp_path: Path, size: str, problem: str
) -> None:
    from orchard.errors import SpecError

    spec = broken(_set(["jobs", "score"], parallel(mini_batch_size=size)))
    with pytest.raises(SpecError, match=f"mini_batch_size.*{problem}"):
        load_job(write_project(tmp_path, spec))
