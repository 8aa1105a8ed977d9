"""Jobs in built environments: the venv is the job's interpreter, a failed build fails
the job with its log, and the build log is kept with the job."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from orchard import command
from orchard.entities import Environment
from orchard.sdk.client import MLClient

CONDA = """\
name: tiny
channels: [conda-forge]
dependencies:
  - python=3.11
  - pip
  - pip:
    - six==1.16.0
"""


def test_job_runs_in_its_built_environment(ml_client: MLClient, tmp_path: Path) -> None:
    job = ml_client.jobs.create_or_update(
        command(
            command='python -c "import six, sys; print(six.__version__, sys.prefix)"',
            environment=Environment(name="tiny", conda_file=CONDA, image="python:3.11"),
        )
    )
    log = io.StringIO()
    done = ml_client.jobs.stream(job.name or "", out=log)
    assert done.status == "Completed", done.error
    version, prefix = log.getvalue().strip().splitlines()[-1].split()
    assert version == "1.16.0"
    assert Path(prefix).is_relative_to(ml_client.settings.home / "environments")
    got = ml_client.jobs.download(job.name or "", tmp_path / "dl")
    assert "six" in (got / "artifacts" / "system_logs" / "environment_build.log").read_text()


def test_failed_build_fails_the_job_with_its_log(ml_client: MLClient, tmp_path: Path) -> None:
    broken = "dependencies:\n  - pip:\n    - orchard-no-such-package-anywhere==9.9.9\n"
    job = ml_client.jobs.create_or_update(
        command(command="echo never runs", environment=Environment(name="b", conda_file=broken))
    )
    log = io.StringIO()
    done = ml_client.jobs.stream(job.name or "", out=log)
    assert done.status == "Failed" and done.error
    assert done.error["code"] == "ENVIRONMENT_BUILD_FAILED"
    assert "orchard-no-such-package-anywhere" in done.error["message"]
    assert "never runs" not in log.getvalue()
    got = ml_client.jobs.download(job.name or "", tmp_path / "dl")
    build_log = got / "artifacts" / "system_logs" / "environment_build.log"
    assert "orchard-no-such-package-anywhere" in build_log.read_text()


@pytest.mark.usefixtures("no_docker_engine")
def test_an_image_alone_with_no_engine_fails_the_job_saying_so(ml_client: MLClient) -> None:
    job = ml_client.jobs.create_or_update(
        command(command="echo never runs", environment=Environment(name="u", image="ubuntu:22.04"))
    )
    log = io.StringIO()
    done = ml_client.jobs.stream(job.name or "", out=log)
    assert done.status == "Failed" and done.error
    assert "needs a Docker engine to run its image ubuntu:22.04" in done.error["message"]
    assert "never runs" not in log.getvalue()
