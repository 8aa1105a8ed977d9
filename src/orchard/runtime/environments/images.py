"""Docker image references: which only supply a Python, and whether a Docker engine answers.

Most Azure ML specs name an image only to get a Python with conda in it: `python:3.11`, or
one of Azure's base images (`mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04`). Those map
to a local interpreter, so the job runs in a venv. Curated images
(`mcr.microsoft.com/azureml/curated/sklearn-1.5:12`) map to Orchard's curated environment of
that name. Anything else needs a Docker engine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Literal

from orchard.runtime.environments.curated import curated_key

ImageKind = Literal["python", "azureml-base", "curated", "other"]

_DOCKER_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io"}
# Azure's base images: Ubuntu + conda (+ MPI, + CUDA); a conda file says what goes in them.
_AZUREML_BASE = re.compile(r"^(openmpi|intelmpi|mpi|base|base-gpu)([0-9.]|-|$)", re.IGNORECASE)
_PYTHON_TAG = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True)
class ImageInfo:
    reference: str
    kind: ImageKind
    python: str | None = None  # "3.11" for python:3.11-slim; None for "any Python 3"
    curated: str | None = None  # the curated environment an Azure curated image maps to

    @property
    def python_only(self) -> bool:
        """True when the image contributes nothing but a Python (and conda)."""
        return self.kind in ("python", "azureml-base")


@dataclass(frozen=True)
class DockerPlan:
    """An environment that runs in a container; the job runner carries it out."""

    source: str  # "image:<ref>" or "build:<path>"
    image: str | None = None
    build_path: str | None = None
    dockerfile_path: str | None = None
    conda_file: dict[str, Any] | None = field(default=None, compare=False)
    pip_requirements: tuple[str, ...] = ()


def split_reference(reference: str) -> tuple[str | None, str, str | None]:
    """(registry, repository path, tag) of an image reference; a digest counts as no tag."""
    name = reference.strip().split("@", 1)[0]
    tag: str | None = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    parts = name.split("/")
    registry: str | None = None
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, parts = parts[0].lower(), parts[1:]
    return registry, "/".join(parts), tag


def classify_image(reference: str) -> ImageInfo:
    registry, path, tag = split_reference(reference)
    lowered = path.lower()
    if registry is None or registry in _DOCKER_HUB:
        if lowered.removeprefix("library/") == "python":
            match = _PYTHON_TAG.match(tag or "")
            version = f"{match.group(1)}.{match.group(2)}" if match else None
            return ImageInfo(reference, "python", python=version)
        return ImageInfo(reference, "other")
    if registry == "mcr.microsoft.com" and lowered.startswith("azureml/"):
        rest = path[len("azureml/") :]
        name = rest.split("/", 1)[1] if rest.lower().startswith("curated/") else rest
        key = curated_key(name)
        if key is not None:
            return ImageInfo(reference, "curated", curated=key)
        if "/" not in rest and _AZUREML_BASE.match(rest):
            return ImageInfo(reference, "azureml-base")
    return ImageInfo(reference, "other")


def docker_available(timeout: float = 5.0) -> bool:
    """True when the `docker` CLI exists and an engine answers `docker info` in time."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0
