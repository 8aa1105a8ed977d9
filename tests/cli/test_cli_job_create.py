"""`orchard job create -f spec.yml`, as `az ml job create` runs Azure ML's example specs."""

from __future__ import annotations

import json
import textwrap

from conftest import Cli

HELLO_WORLD = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: echo "hello world"
environment:
  image: library/python:latest
compute: azureml:cpu-cluster
"""

WITH_INPUTS = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
code: src
command: >-
  python count.py --data ${{inputs.rows}} --greeting ${{inputs.greeting}}
  $[[--limit ${{inputs.limit}}]]
inputs:
  rows:
    type: uri_file
    path: ./rows.csv
  greeting: hello
  limit:
    type: integer
    optional: true
outputs:
  counted:
    type: uri_folder
experiment_name: cli-inputs
environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest
compute: serverless
"""

COUNT = """\
import argparse, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--greeting")
parser.add_argument("--limit", default="none")
args = parser.parse_args()
rows = pathlib.Path(args.data).read_text().splitlines()
print(args.greeting, len(rows), "rows, limit", args.limit)
"""


def test_hello_world_spec_streams_to_completion(cli: Cli) -> None:
    spec = cli.cwd / "hello-world.yml"
    spec.write_text(HELLO_WORLD)
    result = cli.ok("job", "create", "-f", str(spec), "--stream", "-o", "json")
    created = json.loads(result.stdout[: result.stdout.index("\n}") + 2])
    assert created["status"] == "Queued" and created["compute"] == "azureml:cpu-cluster"
    assert "hello world" in result.stdout
    shown = json.loads(cli.ok("job", "show", "-n", created["name"], "-o", "json").stdout)
    assert shown["status"] == "Completed"


def test_set_overrides_and_optional_fragment(cli: Cli) -> None:
    (cli.cwd / "src").mkdir()
    (cli.cwd / "src" / "count.py").write_text(COUNT)
    (cli.cwd / "rows.csv").write_text("a\n1\n2\n")
    spec = cli.cwd / "job.yml"
    spec.write_text(WITH_INPUTS)
    # The sklearn environment is mapped but not built here: the host interpreter runs it.
    spec.write_text(WITH_INPUTS.replace("environment: azureml:AzureML-sklearn", "# "))
    result = cli.ok("job", "create", "-f", str(spec), "--set", "inputs.greeting=howdy", "--stream")
    assert "howdy 3 rows, limit none" in result.stdout


def test_bad_specs_fail_before_anything_starts(cli: Cli) -> None:
    spec = cli.cwd / "job.yml"
    spec.write_text(HELLO_WORLD.replace("compute: azureml:cpu-cluster", "compute: azureml:nope"))
    missing_compute = cli("job", "create", "-f", str(spec))
    assert missing_compute.code != 0 and "nope" in missing_compute.stderr
    spec.write_text(HELLO_WORLD + "environment_variables: [1, 2]\n")
    bad_field = cli("job", "create", "-f", str(spec))
    assert bad_field.code == 2
    assert "job.yml" in bad_field.stderr and "environment_variables" in bad_field.stderr
    spec.write_text(
        textwrap.dedent(
            """\
            command: echo hello
            environment: azureml:no-such-env@latest
            """
        )
    )
    unknown = cli("job", "create", "-f", str(spec))
    assert unknown.code != 0 and "no-such-env" in unknown.stderr
    spec.write_text("command: echo ${{inputs.absent}}\n")
    unbound = cli("job", "create", "-f", str(spec))
    assert unbound.code == 2 and "absent" in unbound.stderr
    assert json.loads(cli.ok("job", "list", "-o", "json").stdout) == []


OLD_PIN = """\
command: python -c "import markupsafe; print('markupsafe', markupsafe.__version__)"
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
  conda_file:
    dependencies:
      - pip:
        - markupsafe==2.0.1
"""


def test_strict_environments_refuses_a_moved_pin(cli: Cli) -> None:
    # markupsafe 2.0.1 has wheels up to cp310 only: a newer Python gets the nearest release.
    spec = cli.cwd / "old-pin.yml"
    spec.write_text(OLD_PIN)
    strict = cli("job", "create", "-f", str(spec), "--strict-environments", "--stream")
    assert strict.code != 0
    failed = json.loads(cli.ok("job", "list", "-o", "json").stdout)[0]
    assert failed["status"] == "Failed"
    assert "--strict-environments" in failed["error"]["message"]
    assert "markupsafe==2.0.1 has no release" in failed["error"]["message"]
    relaxed = cli.ok("job", "create", "-f", str(spec), "--stream")
    assert "markupsafe 2.1" in relaxed.stdout or "markupsafe 3." in relaxed.stdout
