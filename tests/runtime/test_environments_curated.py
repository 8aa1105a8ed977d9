"""Curated environments: one alias table for every spelling, and Azure's package sets."""

from __future__ import annotations

from importlib import resources

import pytest
from packaging.requirements import Requirement

from orchard.runtime.environments import CURATED_TAG, classify_image, resolve_curated
from orchard.runtime.environments.conda import conda_to_pip
from orchard.runtime.environments.curated import alias_table, catalog, parse_reference


@pytest.mark.parametrize(
    ("reference", "key", "version"),
    [
        ("azureml:AzureML-sklearn-1.5@latest", "sklearn-1.5", None),
        ("AzureML-sklearn-1.5@latest", "sklearn-1.5", None),
        ("AzureML-sklearn-1.5:3", "sklearn-1.5", "3"),
        ("azureml:AzureML-sklearn-1.5:3", "sklearn-1.5", "3"),
        ("azureml-sklearn-1.5", "sklearn-1.5", None),
        ("sklearn-1.5", "sklearn-1.5", None),
        (
            "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
            "sklearn-1.5",
            None,
        ),
        ("azureml://registries/azureml/environments/sklearn-1.5/versions/12", "sklearn-1.5", "12"),
        ("azureml://registries/azureml/environments/sklearn-1.5", "sklearn-1.5", None),
        ("azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest", "sklearn-1.0", None),
        ("AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33", "sklearn-1.0", "33"),
        (
            "azureml:/subscriptions/0000/resourceGroups/rg/providers/"
            "Microsoft.MachineLearningServices/workspaces/ws/environments/"
            "AzureML-sklearn-1.5/versions/4",
            "sklearn-1.5",
            "4",
        ),
        ("AzureML-lightgbm-3.3@latest", "lightgbm-3.3", None),
        ("azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu@latest", "sklearn-0.24", None),
        (
            "AzureML-xgboost-0.9-ubuntu18.04-py37-cpu-inference:1",
            "xgboost-0.9-ubuntu18.04-py37-cpu-inference",
            "1",
        ),
        ("azureml:AzureML-acpt-pytorch-2.2-cuda12.1@latest", "acpt-pytorch-2.2-cuda12.1", None),
        ("AzureML-tensorflow-2.16-cuda12@latest", "tensorflow-2.16-cuda12", None),
        (
            "azureml://registries/azureml/environments/minimal-ubuntu22.04-py311-cpu-inference/labels/latest",
            "minimal-ubuntu22.04-py311-cpu-inference",
            None,
        ),
    ],
)
def test_every_spelling_resolves(reference: str, key: str, version: str | None) -> None:
    environment = resolve_curated(reference)
    assert environment is not None
    assert environment.tags[CURATED_TAG] == key
    assert environment.name == f"AzureML-{key}"
    assert environment.version == version
    assert isinstance(environment.conda_file, dict)


@pytest.mark.parametrize(
    "reference",
    [
        "azureml:my-own-env:1",
        "AzureML-sklearn-9.9@latest",
        "azureml://registries/contoso/environments/sklearn-1.5/labels/latest",
        "",
    ],
)
def test_other_references_are_not_curated(reference: str) -> None:
    assert resolve_curated(reference) is None


def test_parse_reference_keeps_names_and_versions_apart() -> None:
    assert parse_reference("azureml:env:2") == ("env", "2")
    assert parse_reference("env@prod") == ("env", None)


def test_required_environments_are_in_the_catalog() -> None:
    keys = set(catalog())
    assert {"sklearn-1.5", "sklearn-1.0", "lightgbm-3.3"} <= keys
    for alias in ("xgboost", "pytorch", "minimal", "tensorflow"):
        assert alias in alias_table()


@pytest.mark.parametrize("key", sorted(catalog()))
def test_every_curated_environment_reads_as_pip_requirements(key: str) -> None:
    spec = conda_to_pip(catalog()[key].conda_file)
    assert spec.python is not None, "every curated environment names its Python"
    for line in spec.requirements:
        Requirement(line)
    names = {Requirement(line).name.lower() for line in spec.requirements}
    # Azure's own service clients are left out; their tracking is Orchard's.
    assert not {n for n in names if n.startswith("azureml-") and "inference-server" not in n}


def _pins(key: str) -> dict[str, Requirement]:
    spec = conda_to_pip(catalog()[key].conda_file)
    return {Requirement(line).name.lower(): Requirement(line) for line in spec.requirements}


def test_sklearn_1_5_is_azures_package_set_not_latest() -> None:
    spec = conda_to_pip(catalog()["sklearn-1.5"].conda_file)
    assert spec.python == "==3.10.*"
    pins = _pins("sklearn-1.5")
    # pandas stays below 2, so scripts calling DataFrame.append still run.
    assert "1.5.3" in pins["pandas"].specifier and "2.0.0" not in pins["pandas"].specifier
    assert "1.22.4" in pins["numpy"].specifier and "1.23.0" not in pins["numpy"].specifier
    assert "1.10.1" in pins["scipy"].specifier and "1.11.0" not in pins["scipy"].specifier
    assert "1.5.2" in pins["scikit-learn"].specifier
    assert "1.6.0" not in pins["scikit-learn"].specifier
    assert {"joblib", "mlflow-skinny"} <= set(pins)


def test_sklearn_1_0_and_lightgbm_follow_azure() -> None:
    sklearn = _pins("sklearn-1.0")
    assert conda_to_pip(catalog()["sklearn-1.0"].conda_file).python == "==3.9.*"
    assert "1.0.2" in sklearn["scikit-learn"].specifier
    assert "1.3.5" in sklearn["pandas"].specifier
    lightgbm = _pins("lightgbm-3.3")
    assert {"lightgbm", "xgboost", "scikit-learn"} <= set(lightgbm)


def test_pytorch_is_a_cpu_capable_torch_2() -> None:
    torch = _pins("acpt-pytorch-2.2-cuda12.1")["torch"]
    assert "2.2.2" in torch.specifier and not torch.extras
    assert "Large" in dict(catalog()["acpt-pytorch-2.2-cuda12.1"].tags)


def test_curated_data_ships_inside_the_package() -> None:
    data = resources.files("orchard.runtime.environments").joinpath("curated.yaml")
    assert data.is_file()


def test_curated_environment_copies_do_not_share_state() -> None:
    first = resolve_curated("sklearn-1.5")
    assert first is not None and isinstance(first.conda_file, dict)
    first.conda_file["dependencies"].append("tampered")
    second = resolve_curated("sklearn-1.5")
    assert second is not None and isinstance(second.conda_file, dict)
    assert "tampered" not in second.conda_file["dependencies"]


@pytest.mark.parametrize(
    ("image", "key"),
    [
        ("mcr.microsoft.com/azureml/curated/sklearn-1.5:12", "sklearn-1.5"),
        ("mcr.microsoft.com/azureml/curated/lightgbm-3.3:latest", "lightgbm-3.3"),
        (
            "mcr.microsoft.com/azureml/xgboost-0.9-ubuntu18.04-py37-cpu-inference:latest",
            "xgboost-0.9-ubuntu18.04-py37-cpu-inference",
        ),
    ],
)
def test_curated_images_map_to_curated_environments(image: str, key: str) -> None:
    info = classify_image(image)
    assert (info.kind, info.curated) == ("curated", key)
