"""Jobs whose environment is a container image, run under a real Docker engine.

They need an engine and a local image with Python (`.ci/docker-test-image` makes both where
it can; no image registry is reachable here). The script in the container reaches the
job's tracking API over loopback, writes outputs through the mounted job folder, and is
stopped by cancel like any other job.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest

from orchard import Input, Output, command
from orchard.entities import Data, Environment
from orchard.entities.assets import BuildContext
from orchard.runtime.environments import docker_available
from orchard.sdk.client import MLClient

IMAGE = os.environ.get("ORCHARD_TEST_DOCKER_IMAGE", "orchard-test/python:bookworm")


def _image_present() -> bool:
    if not docker_available():
        return False
    found = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False)
    return found.returncode == 0


pytestmark = pytest.mark.skipif(
    not _image_present(),
    reason=f"needs a Docker engine and the image {IMAGE} (.ci/docker-test-image)",
)

# Only the standard library: the image has Python and nothing else.
TRAIN = """
import json, os, sys, urllib.request

def call(route, body):
    request = urllib.request.Request(
        os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/" + route,
        data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()

run = os.environ["MLFLOW_RUN_ID"]
call("runs/log-metric", {"run_id": run, "key": "acc", "value": 0.75, "timestamp": 1, "step": 0})
rows = open(sys.argv[1]).read().splitlines()
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "count.txt"), "w").write(str(len(rows)))
open("outputs/where.txt", "w").write(sys.prefix + " " + os.environ["GREETING"])
print("in a container:", os.path.exists("/.dockerenv"))
"""


def _stream(ml_client: MLClient, name: str | None) -> tuple[str, str]:
    assert name
    log = io.StringIO()
    done = ml_client.jobs.stream(name, out=log)
    return done.status or "", log.getvalue()


def test_a_job_runs_in_its_image(ml_client: MLClient, tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "train.py").write_text(textwrap.dedent(TRAIN))
    csv = tmp_path / "rows.csv"
    csv.write_text("a\n1\n2\n")
    ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    job = ml_client.jobs.create_or_update(
        command(
            code=str(code),
            command="python3 train.py ${{inputs.rows}} ${{outputs.counted}}",
            inputs={"rows": Input(type="uri_file", path="azureml:rows@latest")},
            outputs={"counted": Output(type="uri_folder")},
            environment=Environment(name="debian", image=IMAGE),
            environment_variables={"GREETING": "hello"},
        )
    )
    status, log = _stream(ml_client, job.name)
    assert status == "Completed", log
    assert "in a container: True" in log
    assert job.name
    run = ml_client.jobs.run_data([job.name])[job.name]
    assert [(m.key, m.value) for m in run.metrics] == [("acc", 0.75)]
    got = ml_client.jobs.download(job.name, tmp_path / "dl", all=True)
    assert (got / "artifacts" / "outputs" / "where.txt").read_text() == "/usr hello"
    assert (got / "named-outputs" / "counted" / "count.txt").read_text() == "3"


def test_a_dockerfile_is_built_once_and_reused(ml_client: MLClient, tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "marker.txt").write_text(f"built from a Dockerfile {uuid.uuid4()}\n")
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nCOPY marker.txt /opt/marker.txt\n")
    environment = Environment(name="built", build=BuildContext(path=str(context)))
    logs = []
    for _ in range(2):
        job = ml_client.jobs.create_or_update(
            command(command="cat /opt/marker.txt", environment=environment)
        )
        status, log = _stream(ml_client, job.name)
        assert status == "Completed" and "built from a Dockerfile" in log
        assert job.name
        got = ml_client.jobs.download(job.name, tmp_path / job.name)
        logs.append((got / "artifacts" / "system_logs" / "environment_build.log").read_text())
    built = re.search(r"building image (orchard-env:\w+)", logs[0])
    assert built and f"reusing image {built.group(1)}" in logs[1]
    assert "building" not in logs[1]
    subprocess.run(["docker", "image", "rm", built.group(1)], capture_output=True, check=True)


def test_an_image_plus_packages_becomes_a_derived_image(ml_client: MLClient) -> None:
    # setuptools is already in the image, so pip needs no index to satisfy it.
    environment = Environment(name="derived", image=IMAGE, pip_requirements=["setuptools"])
    job = ml_client.jobs.create_or_update(
        command(command="python -c 'import sys; print(sys.prefix)'", environment=environment)
    )
    status, log = _stream(ml_client, job.name)
    assert status == "Completed", log
    assert "/opt/orchard-venv" in log


def test_a_failing_command_in_a_container_fails_the_job(ml_client: MLClient) -> None:
    job = ml_client.jobs.create_or_update(
        command(
            command="echo about to fail >&2; exit 7",
            environment=Environment(name="debian", image=IMAGE),
        )
    )
    status, _ = _stream(ml_client, job.name)
    assert job.name
    done = ml_client.jobs.get(job.name)
    assert status == "Failed" and done.exit_code == 7
    assert done.error and "about to fail" in done.error["log_tail"]


def test_canceling_stops_the_container(ml_client: MLClient) -> None:
    job = ml_client.jobs.create_or_update(
        command(
            command="echo started; exec sleep 600",
            environment=Environment(name="debian", image=IMAGE),
        )
    )
    assert job.name
    log = io.StringIO()

    class CancelOnStart(io.StringIO):
        def write(self, text: str) -> int:
            if "started" in text:
                ml_client.jobs.begin_cancel(job.name or "")
            return log.write(text)

    done = ml_client.jobs.stream(job.name, out=CancelOnStart())
    assert done.status == "Canceled", log.getvalue()
    listed = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", f"name=orchard-job-{job.name}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.strip() == ""
