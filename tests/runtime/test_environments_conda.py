"""Conda files and requirement lists, read into pip requirements."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from orchard.runtime.environments.conda import (
    conda_to_pip,
    conda_version_to_pip,
    load_conda_file,
    pip_requirements,
    split_conda_spec,
)
from orchard.runtime.environments.errors import EnvironmentBuildError


@pytest.mark.parametrize(
    ("conda", "pip"),
    [
        ("numpy=1.22", "numpy==1.22.*"),
        ("numpy=1.22.*", "numpy==1.22.*"),
        ("numpy 1.22", "numpy==1.22.*"),
        ("numpy 1.22 py310h5f9d8c6_0", "numpy==1.22.*"),
        ("numpy=1.22=py310h5f9d8c6_0", "numpy==1.22.*"),
        ("numpy==1.22", "numpy==1.22"),
        ("numpy==1.22=py310_0", "numpy==1.22"),
        ("numpy>=1.2,<2", "numpy>=1.2,<2"),
        ("numpy >=1.2", "numpy>=1.2"),
        ("numpy>=1.2.*", "numpy>=1.2"),
        ("numpy!=1.5.*", "numpy!=1.5.*"),
        ("pandas~=1.5", "pandas~=1.5"),
        ("pandas~=1.5.3", "pandas~=1.5.3"),
        ("numpy", "numpy"),
        ("numpy=*", "numpy"),
        ("numpy=1.2|1.3", "numpy"),  # pip has no `or`: the constraint is dropped
        ("conda-forge::numpy=1.22", "numpy==1.22.*"),
        ("scikit-learn=1.5.0", "scikit-learn==1.5.0.*"),
        ("pytorch=2.2", "torch==2.2.*"),
        ("pytorch-cpu", "torch"),
        ("py-xgboost=1.7", "xgboost==1.7.*"),
        ("python-dateutil>=2.8", "python-dateutil>=2.8"),
        ("pyyaml=6", "PyYAML==6.*"),
        ("matplotlib-base=3.5", "matplotlib==3.5.*"),
        ("tensorflow-cpu=2.16", "tensorflow-cpu==2.16.*"),
        ("msgpack-python", "msgpack"),
    ],
)
def test_conda_dependency_converts_to_pip(conda: str, pip: str) -> None:
    spec = conda_to_pip({"dependencies": [conda]})
    assert spec.requirements == (pip,)
    Requirement(pip)  # and pip can read it


@pytest.mark.parametrize(
    "system",
    [
        "openmpi=4.1",
        "mkl",
        "cudatoolkit=11.8",
        "pip=23.0",
        "cpuonly",
        "nomkl",
        "libgcc-ng",
        "cuda-nvcc",
        "_openmp_mutex",
    ],
)
def test_system_packages_are_dropped_with_a_note(system: str) -> None:
    spec = conda_to_pip({"dependencies": [system, "numpy"]})
    assert spec.requirements == ("numpy",)
    assert any(system.split("=")[0] in note for note in spec.notes)


def test_python_version_is_taken_apart_from_the_packages() -> None:
    spec = conda_to_pip({"dependencies": ["python=3.10", "numpy"]})
    assert spec.python == "==3.10.*"
    assert spec.requirements == ("numpy",)
    assert conda_to_pip({"dependencies": ["python>=3.8"]}).python == ">=3.8"
    assert conda_to_pip({"dependencies": ["python"]}).python is None


def test_conda_file_with_pip_section() -> None:
    spec = conda_to_pip(
        {
            "name": "project_environment",
            "channels": ["conda-forge"],
            "dependencies": [
                "python=3.10",
                "pip=21.3.1",
                "pandas~=1.5.3",
                {"pip": ["scikit-learn~=1.5.0", "azureml-mlflow  # tracking", "numpy=1.26.4"]},
            ],
        }
    )
    assert spec.requirements == (
        "pandas~=1.5.3",
        "scikit-learn~=1.5.0",
        "azureml-mlflow",
        "numpy==1.26.4",
    )
    assert any("numpy=1.26.4" in note for note in spec.notes)


def test_conda_file_from_yaml_text_and_from_a_path(tmp_path: Path) -> None:
    text = "dependencies:\n  - python=3.11\n  - pip:\n    - six==1.16.0\n"
    assert conda_to_pip(text).requirements == ("six==1.16.0",)
    path = tmp_path / "conda.yml"
    path.write_text(text)
    assert load_conda_file(str(path))["dependencies"][0] == "python=3.11"


@pytest.mark.parametrize("bad", ["- just\n- a list\n", "a: [unclosed", "missing.yml"])
def test_unreadable_conda_file_is_a_clear_error(bad: str) -> None:
    with pytest.raises(EnvironmentBuildError, match="conda_file"):
        conda_to_pip(bad)


def test_pip_requirement_lines() -> None:
    spec = pip_requirements(
        [
            "# a comment",
            "",
            "certifi >= 2023.07.22",
            "six==1.16.0  # pinned",
            "-r other-requirements.txt",
            "-e ./local",
            "--extra-index-url https://example.invalid/simple",
            "pkg @ git+https://example.invalid/pkg.git#egg=pkg",
        ]
    )
    assert spec.requirements == (
        "certifi>=2023.07.22",
        "six==1.16.0",
        "--extra-index-url https://example.invalid/simple",
        "pkg @ git+https://example.invalid/pkg.git#egg=pkg",
    )
    assert len(spec.notes) == 2


def test_split_and_version_helpers() -> None:
    assert split_conda_spec("numpy") == ("numpy", "")
    assert split_conda_spec("  ") == (None, "")
    assert conda_version_to_pip("1.22*") == "==1.22.*"
    assert conda_version_to_pip(">=1.2,<2.0") == ">=1.2,<2.0"
