"""Models and environments through MLClient."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchard.entities import BuildContext, Environment, Model
from orchard.errors import ValidationError
from orchard.sdk.client import MLClient


def test_model_folder_is_uploaded_and_downloaded(ml_client: MLClient, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"\x80\x04weights")
    (folder / "conda.yaml").write_text("name: m\n")
    model = ml_client.models.create_or_update(
        Model(name="clf", path=str(folder), type="custom_model", tags={"algo": "tree"})
    )
    assert model.version == "1" and model.path and model.path.startswith("azureml://datastores/")
    out = ml_client.models.download("clf", version="1", download_path=tmp_path / "dl")
    assert (out / "model.pkl").read_bytes() == b"\x80\x04weights"


def test_mlflow_model_needs_an_mlmodel_file(ml_client: MLClient, tmp_path: Path) -> None:
    folder = tmp_path / "mlflow"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"x")
    with pytest.raises(ValidationError, match="no MLmodel file"):
        ml_client.models.create_or_update(Model(name="mf", path=str(folder), type="mlflow_model"))
    (folder / "MLmodel").write_text("flavors: {}\n")
    assert (
        ml_client.models.create_or_update(
            Model(name="mf", path=str(folder), type="mlflow_model")
        ).type
        == "mlflow_model"
    )


def test_model_query_by_tags(ml_client: MLClient, tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"1")
    ml_client.models.create_or_update(
        Model(name="m", path=str(weights), tags={"Region": "EMEA", "Status": "Production"})
    )
    ml_client.models.create_or_update(Model(name="m", path=str(weights), tags={"Region": "EMEA"}))
    found = ml_client.models.list(name="m", tags={"Region": "EMEA", "Status": "Production"})
    assert [m.version for m in found] == ["1"]


def test_environment_reads_its_conda_file(ml_client: MLClient, tmp_path: Path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("name: train\ndependencies:\n  - python=3.11\n  - pip:\n    - scikit-learn\n")
    env = ml_client.environments.create_or_update(
        Environment(
            name="train-env",
            image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04",
            conda_file=str(conda),
        )
    )
    assert env.conda_file == {
        "name": "train",
        "dependencies": ["python=3.11", {"pip": ["scikit-learn"]}],
    }
    # Editing the file later does not change the registered version.
    conda.write_text("name: changed\n")
    assert ml_client.environments.get("train-env", "1").conda_file["name"] == "train"  # type: ignore[index]


def test_environment_with_build_context(ml_client: MLClient) -> None:
    env = ml_client.environments.create_or_update(
        Environment(name="docker-env", version="3", build=BuildContext(path="docker-context"))
    )
    assert env.build is not None and env.build.dockerfile_path == "Dockerfile"
    assert [e.name for e in ml_client.environments.list()] == ["docker-env"]
