"""Model lineage and data usage from real jobs: each model version reaches the job that
made it, and through it the job's code, environment, params and data versions."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from orchard import Input, Output, command
from orchard.entities import Data, Environment, Model
from orchard.entities.jobs import CommandJob
from orchard.errors import NotFound, ValidationError
from orchard.sdk.client import MLClient

TRAIN = """\
import pathlib, sys
import mlflow

data, rate, out = sys.argv[1], sys.argv[2], sys.argv[3]
rows = pathlib.Path(data).read_text().splitlines()
mlflow.log_param("rows", len(rows))
pathlib.Path(out, "model.txt").write_text(f"fit on {len(rows)} rows at {rate}")
"""


def finished(ml_client: MLClient, job: CommandJob) -> CommandJob:
    assert job.name
    done = ml_client.jobs.stream(job.name, out=io.StringIO())
    assert isinstance(done, CommandJob) and done.status == "Completed", done.error
    return done


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def train(ml_client: MLClient, tmp_path: Path) -> CommandJob:
    """Two versions of `rows`; a job reads `rows@latest` (version 2) in environment
    `train-env:2`, logs a param and registers its output as model `clf`."""
    code = write(tmp_path / "src" / "train.py", TRAIN).parent
    for lines in ("a\n1\n", "a\n1\n2\n"):
        csv = write(tmp_path / f"rows-{len(lines)}.csv", lines)
        ml_client.data.create_or_update(Data(name="rows", path=str(csv), type="uri_file"))
    # No dependencies: it builds into a venv over the host interpreter, where mlflow is.
    ml_client.environments.create_or_update(Environment(name="train-env", version="2"))
    job = ml_client.jobs.create_or_update(
        command(
            code=str(code),
            command="python train.py ${{inputs.data}} ${{inputs.rate}} ${{outputs.model}}",
            inputs={"data": Input(type="uri_file", path="azureml:rows@latest"), "rate": 0.5},
            outputs={"model": Output(type="custom_model", name="clf")},
            environment="azureml:train-env:2",
            experiment_name="lineage",
        )
    )
    return finished(ml_client, job)


def test_lineage_names_the_job_its_code_environment_params_and_data(
    ml_client: MLClient, tmp_path: Path
) -> None:
    done = train(ml_client, tmp_path)
    lineage = ml_client.models.lineage("clf", "1")
    assert lineage.model.name == "clf" and lineage.model.job_name == done.name
    job = lineage.job
    assert job is not None
    assert (job.name, job.status, job.experiment) == (done.name, "Completed", "lineage")
    assert job.code == done.code and job.code and job.code.startswith("azureml://datastores/")
    assert job.environment == "train-env:2"
    assert job.inputs["data"].data == "rows:2"  # `@latest` as it resolved at submit
    assert job.inputs["data"].uri == ml_client.data.get("rows", "2").path
    assert job.inputs["rate"].value == "0.5" and job.inputs["rate"].data is None
    assert job.params == {"rows": "3"}
    assert job.data_assets == ["rows:2"]
    # The latest version is the default.
    assert ml_client.models.lineage("clf").model.version == "1"


def test_used_by_lists_the_jobs_that_read_a_data_version_and_their_models(
    ml_client: MLClient, tmp_path: Path
) -> None:
    done = train(ml_client, tmp_path)
    usage = ml_client.data.used_by("rows", "2")
    assert usage.data.version == "2"
    assert [(j.name, j.status, j.experiment, j.inputs) for j in usage.jobs] == [
        (done.name, "Completed", "lineage", ["data"])
    ]
    assert usage.models == ["clf:1"]
    assert ml_client.data.used_by("rows", "1").jobs == []  # the job read version 2 only


def test_models_made_from_a_job_path_link_to_that_job(ml_client: MLClient, tmp_path: Path) -> None:
    done = finished(ml_client, ml_client.jobs.create_or_update(command(command="echo hi")))
    azure_path = f"azureml://jobs/{done.name}/outputs/artifacts/paths/outputs/"
    by_output = ml_client.models.create_or_update(Model(name="by-output", path=azure_path))
    by_run = ml_client.models.create_or_update(
        Model(name="by-run", path=f"runs:/{done.name}/outputs")
    )
    assert by_output.job_name == done.name and by_run.job_name == done.name
    lineage = ml_client.models.lineage("by-run", "1")
    assert lineage.job is not None and lineage.job.name == done.name
    assert lineage.job.environment is None  # no environment: the host interpreter
    with pytest.raises(ValidationError, match="no job named 'no-such-job'"):
        ml_client.models.create_or_update(
            Model(name="orphan", path="azureml://jobs/no-such-job/outputs/model")
        )


def test_a_model_uploaded_from_files_has_no_job(ml_client: MLClient, tmp_path: Path) -> None:
    weights = write(tmp_path / "w.bin", "1")
    ml_client.models.create_or_update(Model(name="uploaded", path=str(weights)))
    lineage = ml_client.models.lineage("uploaded", "1")
    assert lineage.job is None and lineage.model.job_name is None


def test_lineage_of_an_unknown_version_is_not_found(ml_client: MLClient, tmp_path: Path) -> None:
    weights = write(tmp_path / "w.bin", "1")
    ml_client.models.create_or_update(Model(name="known", path=str(weights)))
    with pytest.raises(NotFound, match="model known:9 not found"):
        ml_client.models.lineage("known", "9")
    with pytest.raises(NotFound, match="model 'nope' not found"):
        ml_client.models.lineage("nope")
    with pytest.raises(NotFound, match="data rows:1 not found"):
        ml_client.data.used_by("rows", "1")
