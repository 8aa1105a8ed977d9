"""Batch endpoints through the SDK over both store back ends: deployments recorded and
checked, invokes that really score files in worker processes, pipeline deployments."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from orchard.entities.assets import Model
from orchard.entities.batch_endpoints import (
    BatchEndpoint,
    BatchRetrySettings,
    ModelBatchDeployment,
    ModelBatchDeploymentSettings,
    PipelineComponentBatchDeployment,
)
from orchard.entities.components import PipelineComponent
from orchard.entities.endpoints import CodeConfiguration
from orchard.entities.job_types import Job
from orchard.entities.jobs import Input, JobStatus
from orchard.entities.loaders import load_batch_deployment
from orchard.errors import NotFound, ValidationError
from orchard.sdk.client import MLClient

# Multiplies column x of each CSV by the model's factor; a file named bad*.csv fails.
SCORE = """
import json, os, sys
import pandas as pd

def init():
    global factor
    folder = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model")
    factor = json.load(open(os.path.join(folder, "factor.json")))["factor"]

def run(mini_batch):
    rows = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name.startswith("bad"):
            raise ValueError("cannot score " + name)
        for x in pd.read_csv(path)["x"]:
            rows.append(f"{name} {x * factor}")
    return rows
"""

# Writes one parquet file per input file to AZUREML_BI_OUTPUT_PATH (Azure's custom outputs).
CUSTOM_OUTPUT = """
import os
from pathlib import Path
import pandas as pd

def init():
    pass

def run(mini_batch):
    for path in mini_batch:
        frame = pd.read_csv(path)
        frame["doubled"] = frame["x"] * 2
        target = Path(os.environ["AZUREML_BI_OUTPUT_PATH"]) / (Path(path).stem + ".parquet")
        frame.to_parquet(target)
        yield True
"""


@pytest.fixture
def material(tmp_path: Path) -> Path:
    """A model folder, scoring code and five CSV files of two rows each."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "factor.json").write_text(json.dumps({"factor": 10}))
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text(textwrap.dedent(SCORE))
    (tmp_path / "code" / "custom.py").write_text(textwrap.dedent(CUSTOM_OUTPUT))
    data = tmp_path / "data"
    data.mkdir()
    for i in range(5):
        (data / f"part-{i}.csv").write_text(f"x\n{i}\n{i + 0.5}\n")
    return tmp_path


def deploy(
    ml_client: MLClient, material: Path, name: str = "custom", **settings: object
) -> ModelBatchDeployment:
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="scorer")).result()
    deployment = ModelBatchDeployment(
        name=name,
        endpoint_name="scorer",
        model={"path": str(material / "model")},  # type: ignore[arg-type]  # inline, as in YAML
        code_configuration=CodeConfiguration(
            code=str(material / "code"), scoring_script=str(settings.pop("script", "score.py"))
        ),
        settings=ModelBatchDeploymentSettings.model_validate(
            {"mini_batch_size": 2, "max_concurrency_per_instance": 2, **settings}
        ),
    )
    created = ml_client.batch_deployments.begin_create_or_update(deployment).result()
    assert isinstance(created, ModelBatchDeployment)
    return created


def finished(ml_client: MLClient, job: Job) -> tuple[Job, str]:
    assert job.name
    log = io.StringIO()
    return ml_client.jobs.stream(job.name, out=log), log.getvalue()


def score_file(ml_client: MLClient, job: Job, tmp_path: Path, name: str) -> Path:
    assert job.name
    ml_client.jobs.download(job.name, tmp_path / "download", output_name="score")
    return tmp_path / "download" / "named-outputs" / "score" / name


def test_an_invoke_scores_every_file_in_mini_batch_order(
    ml_client: MLClient, material: Path
) -> None:
    deploy(ml_client, material)
    assert ml_client.batch_endpoints.get("scorer").defaults.deployment_name == "custom"
    job = ml_client.batch_endpoints.invoke("scorer", input=str(material / "data"))
    done, log = finished(ml_client, job)
    assert done.status == JobStatus.COMPLETED, log
    assert "mini-batches: 3 total, 3 done, 0 failed" in log  # 5 files, 2 per mini-batch
    rows = score_file(ml_client, done, material, "predictions.csv").read_text().splitlines()
    expected = [f"part-{i}.csv {x * 10.0}" for i in range(5) for x in (i, i + 0.5)]
    assert rows == expected
    assert done.experiment_name == "scorer" and done.display_name == "scorer-custom"
    assert [j.name for j in ml_client.batch_endpoints.list_jobs("scorer")] == [done.name]
    assert ml_client.batch_deployments.list_jobs("scorer", "custom")[0].name == done.name


def test_invoke_settings_apply_to_that_run_only(ml_client: MLClient, material: Path) -> None:
    deploy(ml_client, material)
    job = ml_client.batch_endpoints.invoke(
        "scorer",
        input=str(material / "data"),
        mini_batch_size=5,
        output_file_name="all.txt",
    )
    done, log = finished(ml_client, job)
    assert done.status == JobStatus.COMPLETED, log
    assert "mini-batches: 1 total, 1 done" in log
    assert len(score_file(ml_client, done, material, "all.txt").read_text().splitlines()) == 10
    assert ml_client.batch_deployments.get("custom", "scorer").settings.mini_batch_size == 2
    with pytest.raises(ValidationError, match="mini_batch_sizes cannot be set"):
        ml_client.batch_endpoints.invoke("scorer", input=str(material / "data"), mini_batch_sizes=3)


def test_a_failing_mini_batch_is_retried_then_counted_against_the_error_threshold(
    ml_client: MLClient, material: Path
) -> None:
    (material / "data" / "bad.csv").write_text("x\n1\n")
    retries = BatchRetrySettings(max_retries=1, timeout=30)
    deploy(ml_client, material, mini_batch_size=1, error_threshold=0, retry_settings=retries)
    failed, log = finished(
        ml_client, ml_client.batch_endpoints.invoke("scorer", input=str(material / "data"))
    )
    assert failed.status == JobStatus.FAILED
    assert "cannot score bad.csv" in log and "1 retried" in log
    deploy(ml_client, material, name="tolerant", mini_batch_size=1, retry_settings=retries)
    job = ml_client.batch_endpoints.invoke(
        "scorer", deployment_name="tolerant", input=str(material / "data")
    )
    done, log = finished(ml_client, job)
    assert done.status == JobStatus.COMPLETED, log
    assert "6 total, 5 done, 1 failed" in log
    rows = score_file(ml_client, done, material, "predictions.csv").read_text().splitlines()
    assert len(rows) == 10 and not any(row.startswith("bad") for row in rows)


def test_a_script_writes_its_own_files_to_the_output_path(
    ml_client: MLClient, material: Path
) -> None:
    import pandas as pd

    deploy(ml_client, material, script="custom.py", output_action="summary_only")
    done, log = finished(
        ml_client, ml_client.batch_endpoints.invoke("scorer", input=str(material / "data"))
    )
    assert done.status == JobStatus.COMPLETED, log
    assert done.name
    ml_client.jobs.download(done.name, material / "download", output_name="score")
    written = sorted((material / "download" / "named-outputs" / "score").iterdir())
    assert [p.name for p in written] == [f"part-{i}.parquet" for i in range(5)]
    assert pd.read_parquet(written[1])["doubled"].tolist() == [2.0, 3.0]


def test_an_mlflow_model_is_scored_with_no_script(ml_client: MLClient, tmp_path: Path) -> None:
    import mlflow.sklearn
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LinearRegression().fit(frame, frame["a"] * 2 + frame["b"])
    mlflow.sklearn.save_model(model, str(tmp_path / "regressor"))
    ml_client.models.create_or_update(
        Model(name="regressor", path=str(tmp_path / "regressor"), type="mlflow_model")
    )
    (tmp_path / "data").mkdir()
    frame.iloc[:2].to_csv(tmp_path / "data" / "one.csv", index=False)
    frame.iloc[2:].to_parquet(tmp_path / "data" / "two.parquet", index=False)
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="scorer")).result()
    deployment = ModelBatchDeployment(
        name="mlflow", endpoint_name="scorer", model="azureml:regressor@latest"
    )
    ml_client.batch_deployments.begin_create_or_update(deployment).result()
    done, log = finished(
        ml_client, ml_client.batch_endpoints.invoke("scorer", input=str(tmp_path / "data"))
    )
    assert done.status == JobStatus.COMPLETED, log
    scores = pd.read_csv(
        score_file(ml_client, done, tmp_path, "predictions.csv"),
        names=["row", "prediction", "file"],
    )
    assert scores["file"].tolist() == ["one.csv", "one.csv", "two.parquet", "two.parquet"]
    assert scores["row"].tolist() == [0, 1, 0, 1]
    assert scores["prediction"].round(6).tolist() == [1.0, 2.0, 5.0, 6.0]
    assert done.inputs["model"].path == "azureml:regressor:1"  # type: ignore[union-attr]


def test_what_a_deployment_names_must_exist_when_it_is_created(
    ml_client: MLClient, material: Path
) -> None:
    with pytest.raises(NotFound, match="batch endpoint 'nowhere' not found"):
        ml_client.batch_deployments.begin_create_or_update(
            ModelBatchDeployment(name="d", endpoint_name="nowhere", model="azureml:m:1")
        )
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="scorer")).result()
    cases = [
        (dict(model="azureml:missing@latest"), "missing"),
        (dict(model={"path": str(material / "model")}), "needs a scoring script"),
        (
            dict(model="azureml:m:1", compute="azureml:batch-cluster"),
            "no compute named 'batch-cluster'",
        ),
    ]
    for fields, message in cases:
        with pytest.raises(ValidationError, match=message):
            ml_client.batch_deployments.begin_create_or_update(
                ModelBatchDeployment(name="d", endpoint_name="scorer", **fields)  # type: ignore[arg-type]
            )
    assert ml_client.batch_deployments.list("scorer") == []


def test_invokes_that_cannot_run_say_why_before_any_job(
    ml_client: MLClient, material: Path
) -> None:
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="scorer")).result()
    with pytest.raises(ValidationError, match="no default deployment"):
        ml_client.batch_endpoints.invoke("scorer", input=str(material / "data"))
    deploy(ml_client, material)
    with pytest.raises(NotFound, match="deployment 'other'"):
        ml_client.batch_endpoints.invoke(
            "scorer", deployment_name="other", input=str(material / "data")
        )
    with pytest.raises(ValidationError, match="scores one input"):
        ml_client.batch_endpoints.invoke("scorer")
    with pytest.raises(ValidationError, match=r"invoke input 'input_data': .*nothing"):
        ml_client.batch_endpoints.invoke("scorer", input="azureml:nothing@latest")
    assert ml_client.jobs.list() == []


def test_the_default_deployment_goes_last(ml_client: MLClient, material: Path) -> None:
    deploy(ml_client, material)
    deploy(ml_client, material, name="second")
    with pytest.raises(ValidationError, match="is the default"):
        ml_client.batch_deployments.begin_delete("custom", "scorer")
    endpoint = ml_client.batch_endpoints.get("scorer")
    endpoint.defaults.deployment_name = "second"
    ml_client.batch_endpoints.begin_create_or_update(endpoint).result()
    ml_client.batch_deployments.begin_delete("custom", "scorer").result()
    ml_client.batch_deployments.begin_delete("second", "scorer").result()
    assert ml_client.batch_endpoints.get("scorer").defaults.deployment_name is None
    endpoint.defaults.deployment_name = "gone"
    with pytest.raises(ValidationError, match="no deployment named 'gone'"):
        ml_client.batch_endpoints.begin_create_or_update(endpoint)
    ml_client.batch_endpoints.begin_delete("scorer").result()
    assert ml_client.batch_endpoints.list() == []


PREP = """
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: copy_rows
version: "1"
type: command
inputs:
  data: {type: uri_folder}
  suffix: {type: string, default: none}
outputs:
  copied: {type: uri_folder}
command: >-
  python -c "import os, shutil, sys; src, dst, suffix = sys.argv[1:];
  [shutil.copy(os.path.join(src, f), os.path.join(dst, f + suffix)) for f in os.listdir(src)]"
  ${{inputs.data}} ${{outputs.copied}} ${{inputs.suffix}}
"""

PIPELINE = """
$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
type: pipeline
name: copy_pipeline
inputs:
  input_data: {type: uri_folder}
  suffix: {type: string, default: .copy}
outputs:
  scores: {type: uri_folder}
jobs:
  copy_job:
    type: command
    component: ./prep.yml
    inputs:
      data: ${{parent.inputs.input_data}}
      suffix: ${{parent.inputs.suffix}}
    outputs:
      copied: ${{parent.outputs.scores}}
"""


def test_a_pipeline_deployment_runs_its_component_with_the_invoke_inputs(
    ml_client: MLClient, material: Path
) -> None:
    (material / "prep.yml").write_text(PREP)
    (material / "pipeline.yml").write_text(PIPELINE)
    (material / "deployment.yml").write_text(
        "name: copy\nendpoint_name: scorer\ntype: pipeline\ncomponent: pipeline.yml\n"
        "settings: {continue_on_step_failure: false}\n"
    )
    deployment = load_batch_deployment(material / "deployment.yml")
    assert isinstance(deployment, PipelineComponentBatchDeployment)
    assert isinstance(deployment.component, PipelineComponent)
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="scorer")).result()
    created = ml_client.batch_deployments.begin_create_or_update(deployment).result()
    assert created.component == "azureml:copy_pipeline:1"  # type: ignore[union-attr]
    job = ml_client.batch_endpoints.invoke(
        "scorer",
        inputs={
            "input_data": Input(type="uri_folder", path=str(material / "data")),
            "suffix": ".x",
        },
    )
    done, log = finished(ml_client, job)
    assert done.status == JobStatus.COMPLETED, log
    assert [c.display_name or c.name for c in ml_client.jobs.list(parent_job_name=done.name)] == [
        "copy_job"
    ]
    assert done.name
    ml_client.jobs.download(done.name, material / "download", output_name="scores")
    copied = sorted(p.name for p in (material / "download" / "named-outputs" / "scores").iterdir())
    assert copied == [f"part-{i}.csv.x" for i in range(5)]
    with pytest.raises(ValidationError, match="no input or output named 'colour'"):
        ml_client.batch_endpoints.invoke("scorer", inputs={"colour": "red"})
    from_job = PipelineComponentBatchDeployment(
        name="again", endpoint_name="scorer", job_definition=f"azureml:{done.name}"
    )
    ml_client.batch_deployments.begin_create_or_update(from_job).result()
    rerun, log = finished(
        ml_client,
        ml_client.batch_endpoints.invoke(
            "scorer", deployment_name="again", inputs={"suffix": ".y"}
        ),
    )
    assert rerun.status == JobStatus.COMPLETED, log
    assert rerun.inputs["suffix"] == ".y"
