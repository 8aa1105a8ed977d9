"""`orchard model show --lineage`, `orchard data show --used-by` and `show --tag`, over a
job the CLI submits and follows to its end."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import Cli

JOB = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: src
command: python train.py ${{inputs.data}} ${{inputs.rate}} ${{outputs.model}}
inputs:
  data:
    type: uri_file
    path: azureml:rows@latest
  rate: 0.5
outputs:
  model:
    type: custom_model
    name: clf
environment: azureml:train-env:1
experiment_name: lineage
"""

TRAIN = """\
import pathlib, sys
import mlflow

data, rate, out = sys.argv[1], sys.argv[2], sys.argv[3]
rows = pathlib.Path(data).read_text().splitlines()
mlflow.log_param("rows", len(rows))
pathlib.Path(out, "model.txt").write_text(f"fit on {len(rows)} rows at {rate}")
"""


@pytest.fixture
def trained(cli: Cli) -> Cli:
    """Job `train-1` read data `rows:1` in environment `train-env:1` and made model `clf:1`."""
    (cli.cwd / "src").mkdir()
    (cli.cwd / "src" / "train.py").write_text(TRAIN)
    (cli.cwd / "rows.csv").write_text("a\n1\n2\n")
    (cli.cwd / "job.yml").write_text(JOB)
    cli.ok("data", "create", "--name", "rows", "--type", "uri_file", "--path", "rows.csv")
    cli.ok("environment", "create", "--name", "train-env", "--version", "1")
    done = cli.ok("job", "create", "-f", "job.yml", "--name", "train-1", "--stream")
    assert "Job train-1: Completed" in done.stdout, done.stdout
    return cli


def test_model_lineage_as_a_tree_and_as_json(trained: Cli) -> None:
    tree = trained.ok("model", "show", "-n", "clf", "-v", "1", "--lineage").stdout
    assert "model clf:1 (custom_model)" in tree
    assert "job train-1 (Completed), experiment lineage" in tree
    assert "environment train-env:1" in tree and "data: data asset rows:1 at azureml://" in tree
    assert "rate: 0.5" in tree and "rows = 3" in tree
    body = json.loads(trained.ok("model", "show", "-n", "clf", "--lineage", "-o", "json").stdout)
    job = body["job"]
    assert body["model"]["job_name"] == job["name"] == "train-1"
    assert job["code"].startswith("azureml://datastores/") and job["code"].endswith("/src")
    assert job["inputs"]["data"]["data"] == "rows:1" and job["params"] == {"rows": "3"}
    # A model registered from the job's run by path reaches the same job.
    trained.ok("model", "create", "--name", "by-run", "--path", "runs:/train-1/outputs")
    by_run = json.loads(
        trained.ok("model", "show", "-n", "by-run", "--lineage", "-o", "json").stdout
    )
    assert by_run["job"]["name"] == "train-1" and by_run["job"]["environment"] == "train-env:1"


def test_data_used_by_lists_the_jobs_and_their_models(trained: Cli) -> None:
    tree = trained.ok("data", "show", "-n", "rows", "-v", "1", "--used-by").stdout
    assert "job train-1 (Completed), experiment lineage, input data" in tree
    assert "model clf:1" in tree
    body = yaml.safe_load(
        trained.ok("data", "show", "-n", "rows", "--used-by", "-o", "yaml").stdout
    )
    assert [(j["name"], j["models"]) for j in body["jobs"]] == [("train-1", ["clf:1"])]


def test_show_picks_the_newest_version_with_the_tags(cli: Cli) -> None:
    (cli.cwd / "w.bin").write_bytes(b"1")
    for tags in (("Region=EMEA", "Status=Production"), ("Region=EMEA",), ("Region=US",)):
        flags = [part for tag in tags for part in ("--tag", tag)]
        cli.ok("model", "create", "--name", "m", "--path", "w.bin", *flags)
    wanted = ("--tag", "Region=EMEA", "--tag", "Status=Production")
    shown = cli.ok("model", "show", "-n", "m", "--label", "latest", *wanted, "-o", "json")
    assert json.loads(shown.stdout)["version"] == "1"
    newest_emea = cli.ok("model", "show", "-n", "m", "--tag", "Region=EMEA", "-o", "json")
    assert json.loads(newest_emea.stdout)["version"] == "2"
    missing = cli("model", "show", "-n", "m", "--tag", "Region=APAC")
    assert missing.code == 3
    assert "model 'm' has no active version with tags Region=APAC" in missing.stderr


def test_unknown_models_and_data_exit_3_naming_them(cli: Cli) -> None:
    (cli.cwd / "w.bin").write_bytes(b"1")
    cli.ok("model", "create", "--name", "m", "--path", "w.bin")
    for args, message in (
        (("model", "show", "-n", "m", "-v", "9", "--lineage"), "model m:9 not found"),
        (("model", "show", "-n", "nope", "--lineage"), "model 'nope' not found"),
        (("data", "show", "-n", "rows", "-v", "1", "--used-by"), "data rows:1 not found"),
    ):
        result = cli(*args)
        assert result.code == 3, result
        assert message in result.stderr
    orphan = cli("model", "create", "--name", "o", "--path", "azureml://jobs/nope/outputs/m")
    assert orphan.code == 2 and "no job named 'nope'" in orphan.stderr
