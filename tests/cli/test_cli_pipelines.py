"""`orchard component ...` and pipelines through `orchard job`, as `az ml` runs them."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING

import yaml

from pipeline_helpers import PIPELINE, write_project

if TYPE_CHECKING:
    from conftest import Cli


def test_components_are_registered_versioned_and_listed(cli: Cli) -> None:
    write_project(cli.cwd)
    created = json.loads(cli.ok("component", "create", "-f", "make.yml", "-o", "json").stdout)
    assert created["name"] == "make_numbers" and created["version"] == "1"
    assert created["code"].startswith("azureml://datastores/")  # the code was uploaded
    cli.ok("component", "create", "-f", "make.yml", "--set", "version=2")
    listed = cli.ok("component", "list", "--name", "make_numbers").stdout
    assert "make_numbers" in listed and "2" in listed
    shown = json.loads(
        cli.ok("component", "show", "--name", "make_numbers", "--version", "1", "-o", "json").stdout
    )
    assert shown["inputs"]["n"] == {"type": "integer", "default": 3, "min": 0.0, "max": 1000.0}


def test_job_create_streams_a_pipeline_and_job_show_draws_its_graph(cli: Cli) -> None:
    write_project(cli.cwd)
    done = cli.ok("job", "create", "-f", "pipeline.yml", "--name", "pipe1", "--stream")
    assert "step make started" in done.stdout and "Job pipe1: Completed" in done.stdout
    shown = cli.ok("job", "show", "--name", "pipe1").stdout
    assert "✔ pipeline pipe1  Completed" in shown
    assert "✔ tally  Completed  pipe1_tally" in shown
    assert "data ← make.out" in shown
    graph = json.loads(cli.ok("job", "show", "--name", "pipe1", "-o", "json").stdout)["graph"]
    assert [n["name"] for n in graph["nodes"]] == ["make", "tally"]
    assert graph["edges"] == [
        {"source": "make", "source_output": "out", "target": "tally", "target_input": "data"}
    ]


def test_a_bad_pipeline_exits_non_zero_with_the_step_named(cli: Cli) -> None:
    spec = copy.deepcopy(PIPELINE)
    spec["jobs"]["tally"]["inputs"]["data"] = "${{parent.jobs.nothing.outputs.out}}"
    write_project(cli.cwd, spec)
    result = cli("job", "create", "-f", "pipeline.yml")
    assert result.code == 2
    assert "pipeline step 'tally': input 'data'" in result.stderr
    assert "step 'nothing'" in result.stderr
    assert yaml.safe_load(cli.ok("job", "list", "-o", "yaml").stdout) == []
