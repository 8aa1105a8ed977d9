"""`orchard batch-endpoint ...` and `orchard batch-deployment ...` as Azure's batch
examples type them: specs from files, an invoke streamed to the end, its scores
downloaded; a pipeline deployment invoked with `--file inputs.yml`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from conftest import Cli

ENDPOINT = """
$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
name: lengths
description: Counts the characters of text files
auth_mode: aad_token
"""

DEPLOYMENT = """
$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
endpoint_name: lengths
name: counter
type: model
model:
  path: ./model
code_configuration:
  code: code
  scoring_script: count.py
compute: azureml:batch-cluster
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 1
    timeout: 30
  error_threshold: -1
  logging_level: info
"""

COUNT = """
import os

def init():
    global unit
    unit = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "unit.txt")).read()

def run(mini_batch):
    return [f"{os.path.basename(p)},{len(open(p).read())}{unit}" for p in mini_batch]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_a_model_deployment_from_specs_is_invoked_streamed_and_downloaded(cli: Cli) -> None:
    write(cli.cwd, "model/unit.txt", "ch")
    write(cli.cwd, "code/count.py", COUNT)
    for i, text in enumerate(["a", "bb", "ccc"]):
        write(cli.cwd, f"data/t{i}.txt", text)
    cli.ok("compute", "create", "--name", "batch-cluster", "--type", "amlcompute")
    cli.ok("batch-endpoint", "create", "-f", str(write(cli.cwd, "endpoint.yml", ENDPOINT)))
    spec = write(cli.cwd, "deployment.yml", DEPLOYMENT)
    created = json.loads(cli.ok("batch-deployment", "create", "-f", str(spec), "-o", "json").stdout)
    assert created["settings"]["mini_batch_size"] == 2
    shown = json.loads(cli.ok("batch-endpoint", "show", "-n", "lengths", "-o", "json").stdout)
    assert shown["defaults"]["deployment_name"] == "counter"
    invoked = cli.ok("batch-endpoint", "invoke", "-n", "lengths", "--input", "data", "--stream")
    assert "mini-batches: 2 total, 2 done, 0 failed" in invoked.stdout
    assert "Completed" in invoked.stdout.splitlines()[-1]
    jobs = json.loads(cli.ok("batch-endpoint", "list-jobs", "-n", "lengths", "-o", "json").stdout)
    (job,) = jobs
    cli.ok("job", "download", "-n", job["name"], "--output-name", "score", "--download-path", "out")
    scores = (cli.cwd / "out" / "named-outputs" / "score" / "predictions.csv").read_text()
    assert scores.splitlines() == ["t0.txt,1ch", "t1.txt,2ch", "t2.txt,3ch"]
    listed = cli.ok("batch-deployment", "list-jobs", "-n", "counter", "-e", "lengths", "-o", "json")
    assert [j["name"] for j in json.loads(listed.stdout)] == [job["name"]]
    cli.ok("batch-endpoint", "delete", "-n", "lengths", "--yes")
    missing = cli("batch-deployment", "show", "-n", "counter", "-e", "lengths")
    assert missing.code != 0 and "not found" in missing.stderr


def test_a_pipeline_deployment_is_invoked_with_an_inputs_file(cli: Cli) -> None:
    write(
        cli.cwd,
        "pipeline.yml",
        """
        $schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
        type: pipeline
        name: hello_batch
        inputs:
          input_data: {type: uri_folder}
          greeting: {type: string, default: hello}
        jobs:
          hello:
            type: command
            command: ls ${{inputs.folder}} && echo ${{inputs.greeting}} from the pipeline
            inputs:
              folder: ${{parent.inputs.input_data}}
              greeting: ${{parent.inputs.greeting}}
        """,
    )
    deployment = write(
        cli.cwd,
        "deployment.yml",
        """
        name: hello-dpl
        endpoint_name: hello-pipeline
        type: pipeline
        component: pipeline.yml
        settings: {continue_on_step_failure: false}
        """,
    )
    inputs = write(
        cli.cwd,
        "run/inputs.yml",
        """
        inputs:
          input_data: {type: uri_folder, path: ../data}
          greeting: {type: string, default: bonjour}
        """,
    )
    write(cli.cwd, "data/sample.csv", "x\n1\n")
    cli.ok("batch-endpoint", "create", "--name", "hello-pipeline")
    cli.ok("batch-deployment", "create", "-f", str(deployment), "--set-default")
    done = cli.ok("batch-endpoint", "invoke", "-n", "hello-pipeline", "-f", str(inputs), "--stream")
    assert "step hello Completed" in done.stdout
    jobs = json.loads(
        cli.ok("batch-endpoint", "list-jobs", "-n", "hello-pipeline", "-o", "json").stdout
    )
    (child,) = json.loads(
        cli.ok("job", "list", "--parent-job-name", jobs[0]["name"], "-o", "json").stdout
    )
    log = cli.ok("job", "download", "-n", child["name"], "--download-path", "logs")
    assert log.code == 0
    std_log = next((cli.cwd / "logs").rglob("std_log.txt")).read_text()
    assert "sample.csv" in std_log and "bonjour from the pipeline" in std_log


def test_bad_invokes_exit_non_zero_and_say_why(cli: Cli) -> None:
    cli.ok("batch-endpoint", "create", "--name", "empty")
    nothing = cli("batch-endpoint", "invoke", "-n", "empty")
    assert nothing.code != 0 and "needs --input or --file" in nothing.stderr
    no_default = cli("batch-endpoint", "invoke", "-n", "empty", "--input", "azureml:x@latest")
    assert no_default.code != 0 and "no default deployment" in no_default.stderr
    stray = write(cli.cwd, "inputs.yml", "inputs: {}\njobs: {}\n")
    wrong = cli("batch-endpoint", "invoke", "-n", "empty", "-f", str(stray))
    assert wrong.code != 0 and "only inputs: and outputs:" in wrong.stderr
    assert "Traceback" not in nothing.stderr + no_default.stderr + wrong.stderr
