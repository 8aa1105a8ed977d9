"""From an Environment asset to what will be built: host, venv, or Docker."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from orchard.entities.assets import BuildContext, Environment
from orchard.runtime.environments import (
    DockerPlan,
    EnvironmentBuildError,
    EnvironmentWarning,
    ResolvedEnvironment,
    classify_image,
    docker_available,
    resolve_environment,
)
from orchard.runtime.environments.interpreters import find_python, host_interpreter

HOST_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"
OTHER_MINOR = f"3.{sys.version_info.minor - 1}"
no_docker = pytest.mark.usefixtures("no_docker_engine")


def resolve_quietly(environment: Environment) -> ResolvedEnvironment:
    with warnings.catch_warnings():
        warnings.simplefilter("error", EnvironmentWarning)  # no substitution expected
        resolved = resolve_environment(environment)
    assert isinstance(resolved, ResolvedEnvironment)
    return resolved


def test_no_dependencies_is_the_host_environment() -> None:
    resolved = resolve_quietly(Environment(name="bare"))
    assert resolved.source == "host"
    assert resolved.inherit_host and resolved.requirements == ()
    assert resolved.python == host_interpreter().path
    assert resolved.warnings == ()


@pytest.mark.parametrize(
    "image",
    [
        "python",
        f"python:{HOST_MINOR}",
        f"python:{HOST_MINOR}-slim-bookworm",
        "library/python:latest",
        "docker.io/python",
        "docker.io/library/python:3",
        "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04",
        "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
        "mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04@sha256:" + "0" * 64,
    ],
)
def test_python_only_images_map_to_the_host(image: str) -> None:
    resolved = resolve_quietly(Environment(name="img", image=image))
    assert resolved.source == f"image:{image}"
    assert resolved.inherit_host and resolved.warnings == ()


@pytest.mark.parametrize(
    ("image", "kind", "python"),
    [
        ("python:3.10-slim", "python", "3.10"),
        ("python:3", "python", None),
        ("python@sha256:" + "a" * 64, "python", None),
        (
            "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04",
            "azureml-base",
            None,
        ),
        ("ubuntu:22.04", "other", None),
        ("nvidia/cuda:12.1.0-runtime-ubuntu22.04", "other", None),
        ("myregistry.azurecr.io/python:3.11", "other", None),
        ("mcr.microsoft.com/azureml/curated/not-a-curated-env:1", "other", None),
        ("localhost:5000/python:3.11", "other", None),
    ],
)
def test_image_classification(image: str, kind: str, python: str | None) -> None:
    info = classify_image(image)
    assert (info.kind, info.python) == (kind, python)


def test_conda_and_pip_requirements_resolve_to_an_isolated_venv() -> None:
    resolved = resolve_quietly(
        Environment(
            name="mixed",
            conda_file={"dependencies": ["numpy=1.26", {"pip": ["six==1.16.0"]}]},
            pip_requirements=["packaging>=23", "six==1.16.0"],
        )
    )
    assert resolved.source == "conda"
    assert not resolved.inherit_host
    assert resolved.requirements == ("numpy==1.26.*", "packaging>=23", "six==1.16.0")
    pip_only = resolve_quietly(Environment(name="p", pip_requirements=["six"]))
    assert pip_only.source == "pip"


def test_digest_ignores_order_and_follows_content() -> None:
    one = resolve_quietly(Environment(name="a", pip_requirements=["six", "packaging"]))
    two = resolve_quietly(Environment(name="b", pip_requirements=["packaging", "six"]))
    three = resolve_quietly(Environment(name="c", pip_requirements=["six"]))
    assert one.digest() == two.digest() != three.digest()
    assert len(one.digest()) == 24


def test_missing_python_pin_uses_the_host_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine with no other interpreter: PATH holds nothing uv or Orchard could find.
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    environment = Environment(
        name="old",
        conda_file={"dependencies": [f"python={OTHER_MINOR}", {"pip": ["six==1.16.0"]}]},
    )
    with pytest.warns(EnvironmentWarning) as caught:
        resolved = resolve_environment(environment)
    assert len(caught) == 1
    assert f"Python {OTHER_MINOR} is not installed" in str(caught[0].message)
    assert isinstance(resolved, ResolvedEnvironment)
    assert resolved.python == host_interpreter().path
    assert len(resolved.warnings) == 1
    with pytest.raises(EnvironmentBuildError, match="strict"):
        resolve_environment(environment, strict=True)


@pytest.mark.skipif(find_python("3.10") is None or HOST_MINOR == "3.10", reason="no 3.10 here")
def test_python_pin_uses_that_interpreter_when_the_machine_has_it() -> None:
    resolved = resolve_quietly(
        Environment(name="py310", conda_file={"dependencies": ["python=3.10", "six"]})
    )
    assert resolved.python_version.startswith("3.10.")
    assert resolved.python != host_interpreter().path


@no_docker
@pytest.mark.parametrize(
    ("environment", "said"),
    [
        (Environment(name="ubuntu", image="ubuntu:22.04"), "run its image ubuntu:22.04"),
        (
            Environment(name="dockerfile", build=BuildContext(path="docker-context")),
            "build its Dockerfile (docker-context)",
        ),
    ],
)
def test_docker_only_environments_say_an_engine_is_needed(
    environment: Environment, said: str
) -> None:
    with pytest.raises(EnvironmentBuildError) as raised:
        resolve_environment(environment)
    message = raised.value.message
    assert "needs a Docker engine" in message and "none answers" in message
    assert said in message
    assert raised.value.http_status == 400


@no_docker
def test_image_with_conda_builds_locally_with_one_warning() -> None:
    environment = Environment(
        name="azure-style",
        image="nvidia/cuda:12.1.0-runtime-ubuntu22.04",
        conda_file={"dependencies": [{"pip": ["six==1.16.0"]}]},
    )
    with pytest.warns(EnvironmentWarning, match="base image .* was not used") as caught:
        resolved = resolve_environment(environment)
    assert len(caught) == 1
    assert isinstance(resolved, ResolvedEnvironment)
    assert resolved.source == "conda" and resolved.requirements == ("six==1.16.0",)


@pytest.mark.skipif(not docker_available(), reason="no Docker engine answers here")
def test_docker_plan_when_an_engine_answers() -> None:
    plan = resolve_environment(Environment(name="ubuntu", image="ubuntu:22.04"))
    assert isinstance(plan, DockerPlan) and plan.image == "ubuntu:22.04"


def test_curated_image_resolves_to_the_curated_environment() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EnvironmentWarning)  # its Python may be missing here
        resolved = resolve_environment(
            Environment(name="c", image="mcr.microsoft.com/azureml/curated/sklearn-1.5:12")
        )
    assert isinstance(resolved, ResolvedEnvironment)
    assert resolved.source == "curated:sklearn-1.5"
    assert any(r.startswith("pandas~=1.5") for r in resolved.requirements)
