"""Batch endpoint and deployment specs in the shapes of Azure's examples (both schema
generations), loaded strictly; bad values named."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchard.entities.batch_endpoints import (
    BatchEndpoint,
    ModelBatchDeployment,
    PipelineComponentBatchDeployment,
)
from orchard.entities.components import PipelineComponent
from orchard.entities.loaders import load_batch_deployment, load_batch_endpoint
from orchard.errors import SpecError

# cli/endpoints/batch/deploy-models/heart-classifier-mlflow/deployment-custom/deployment.yml
CURRENT = """
$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
endpoint_name: heart-classifier-batch
name: classifier-xgboost-custom
type: model
model: azureml:heart-classifier-mlflow@latest
environment:
  name: batch-mlflow-xgboost
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
  conda_file: environment/conda.yaml
code_configuration:
  code: code
  scoring_script: batch_driver.py
compute: azureml:batch-cluster
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 300
  error_threshold: -1
  logging_level: info
"""

# cli/endpoints/batch/nonmlflow-deployment.yml: the first schema, settings at the top level
LEGACY = """
$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
name: nonmlflowdp
endpoint_name: mybatchedp
model:
  local_path: ./mnist/model/
code_configuration:
  code:
    local_path: ./mnist/code/
  scoring_script: digit_identification.py
environment:
  conda_file: ./mnist/environment/conda.yml
  image: mcr.microsoft.com/azureml/openmpi3.1.2-ubuntu18.04:latest
compute: azureml:batch-cluster
resources:
  instance_count: 1
max_concurrency_per_instance: 2
mini_batch_size: 10
output_action: AppendRow
output_file_name: predictions.csv
retry_settings:
  max_retries: 3
  timeout: 30
error_threshold: -1
logging_level: info
"""

CONDA = "name: env\ndependencies:\n  - python=3.10\n  - pip:\n    - pandas\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_the_current_schema_loads_strictly(tmp_path: Path) -> None:
    write(tmp_path, "environment/conda.yaml", CONDA)
    deployment = load_batch_deployment(write(tmp_path, "d.yml", CURRENT), strict=True)
    assert isinstance(deployment, ModelBatchDeployment)
    assert deployment.model == "azureml:heart-classifier-mlflow@latest"
    assert deployment.code_configuration is not None
    assert deployment.code_configuration.code == str(tmp_path / "code")
    assert deployment.instance_count == 2
    settings = deployment.settings
    assert (settings.mini_batch_size, settings.max_concurrency_per_instance) == (2, 2)
    assert settings.retry_settings.timeout == 300 and settings.logging_level == "INFO"
    assert deployment.environment.conda_file["dependencies"][0] == "python=3.10"  # type: ignore[union-attr,index]
    reloaded = load_batch_deployment(deployment.to_spec(), strict=True)
    assert reloaded.model_dump(exclude={"schema_"}) == deployment.model_dump(exclude={"schema_"})


def test_the_first_schema_moves_its_settings_and_local_paths_into_place(tmp_path: Path) -> None:
    write(tmp_path, "mnist/environment/conda.yml", CONDA)
    deployment = load_batch_deployment(write(tmp_path, "d.yml", LEGACY), strict=True)
    assert isinstance(deployment, ModelBatchDeployment)
    assert deployment.settings.mini_batch_size == 10
    assert deployment.settings.output_action == "append_row"
    assert deployment.settings.retry_settings.max_retries == 3
    assert deployment.model.path == str(tmp_path / "mnist" / "model")  # type: ignore[union-attr]
    assert deployment.code_configuration is not None
    assert deployment.code_configuration.code == str(tmp_path / "mnist" / "code")


def test_pipeline_deployments_read_their_component_file_or_name_a_job(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pipeline.yml",
        """
        $schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
        type: pipeline
        name: hello_batch
        inputs: {message: {type: string, default: hi}}
        jobs:
          say:
            type: command
            command: echo ${{inputs.text}}
            inputs: {text: "${{parent.inputs.message}}"}
        """,
    )
    spec = write(
        tmp_path,
        "deployment.yml",
        """
        $schema: http://azureml/sdk-2-0/BatchDeployment.json
        name: hello-batch-dpl
        endpoint_name: hello-pipeline-batch
        type: pipeline
        component: pipeline.yml
        settings:
            default_compute: batch-cluster
            continue_on_step_failure: false
        """,
    )
    deployment = load_batch_deployment(spec, strict=True)
    assert isinstance(deployment, PipelineComponentBatchDeployment)
    assert isinstance(deployment.component, PipelineComponent)
    assert deployment.component.name == "hello_batch"
    assert deployment.settings.default_compute == "batch-cluster"
    from_job = load_batch_deployment(
        {"name": "j", "endpoint_name": "e", "type": "pipeline", "job_definition": "azureml:x"}
    )
    assert isinstance(from_job, PipelineComponentBatchDeployment)
    assert from_job.job_definition == "azureml:x"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"settings": {"mini_batch_size": 0}}, "settings.mini_batch_size"),
        ({"settings": {"output_action": "append"}}, "settings.output_action"),
        ({"settings": {"retry_settings": {"timeout": 0}}}, "settings.retry_settings.timeout"),
        ({"model": None}, "model"),
        ({"type": "pipeline"}, "one of component or job_definition"),
    ],
)
def test_bad_values_are_named(body: dict[str, object], said: str) -> None:
    base = {"name": "d", "endpoint_name": "e", "model": "azureml:m:1", **body}
    if body.get("type") == "pipeline":
        base.pop("model")
    with pytest.raises(SpecError, match=said.replace(".", r"\.")):
        load_batch_deployment(base)


def test_an_endpoint_spec_keeps_its_default_deployment(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "endpoint.yml",
        """
        $schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json
        name: heart-classifier-batch
        description: A heart condition classifier for batch inference
        auth_mode: aad_token
        defaults:
          deployment_name: classifier-xgboost-mlflow
        """,
    )
    endpoint = load_batch_endpoint(spec, strict=True)
    assert isinstance(endpoint, BatchEndpoint)
    assert endpoint.defaults.deployment_name == "classifier-xgboost-mlflow"
