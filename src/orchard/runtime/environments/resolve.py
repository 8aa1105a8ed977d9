"""From an Environment asset to what will be built: an interpreter and a requirement list.

An environment is one of:
- host: no dependencies at all (or only a Python image): a venv over the host interpreter
  that sees the host's packages, so nothing is installed. The default for jobs.
- conda / pip / curated: an isolated venv with the requirements installed by uv.
- Docker: a Dockerfile, or an image that is more than a Python: a DockerPlan, or an error
  that says an engine is needed when none answers.
"""

from __future__ import annotations

import hashlib
import json
import site
import warnings
from dataclasses import dataclass, field

from orchard.entities.assets import Environment
from orchard.runtime.environments.conda import (
    PipSpec,
    conda_to_pip,
    load_conda_file,
    pip_requirements,
    requirement_key,
)
from orchard.runtime.environments.curated import CURATED_TAG, curated_environment
from orchard.runtime.environments.errors import EnvironmentBuildError, EnvironmentWarning
from orchard.runtime.environments.images import (
    DockerPlan,
    ImageInfo,
    classify_image,
    docker_available,
)
from orchard.runtime.environments.interpreters import describe, host_interpreter, select_python

# Part of every digest: bump it when a change to the builder changes what it builds.
BUILDER_VERSION = "1"


@dataclass(frozen=True)
class ResolvedEnvironment:
    """What will be built; equal specs on one machine have equal digests."""

    python: str  # interpreter path
    requirements: tuple[str, ...]
    source: str  # "curated:sklearn-1.5" | "conda" | "pip" | "host" | "image:<ref>"
    warnings: tuple[str, ...] = ()
    python_version: str = ""  # "3.10.13"; read from the interpreter when left empty
    # True for the host environment: the venv sees the host's installed packages.
    inherit_host: bool = False
    host_site_dirs: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def version(self) -> str:
        if self.python_version:
            return self.python_version
        found = describe(self.python)
        if found is None:
            raise EnvironmentBuildError(f"the interpreter {self.python} does not run")
        return found.version

    def digest(self) -> str:
        spec = {
            "builder": BUILDER_VERSION,
            "python": self.python,
            "python_version": self.version(),
            "requirements": sorted(self.requirements, key=requirement_key),
            "inherit_host": self.inherit_host,
            "host_site_dirs": list(self.host_site_dirs),
        }
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def host_environment(
    *, source: str = "host", warnings: tuple[str, ...] = ()
) -> ResolvedEnvironment:
    host = host_interpreter()
    dirs = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        dirs.append(site.getusersitepackages())
    return ResolvedEnvironment(
        python=host.path,
        requirements=(),
        source=source,
        warnings=warnings,
        python_version=host.version,
        inherit_host=True,
        host_site_dirs=tuple(dict.fromkeys(dirs)),
    )


def resolve_environment(
    environment: Environment, *, strict: bool = False
) -> ResolvedEnvironment | DockerPlan:
    """What `environment` builds into here. Each substitution is warned about once.

    With `strict`, a substitution (another Python, a base image left out) is an error.
    """
    resolved = _resolve(environment, strict=strict)
    if isinstance(resolved, ResolvedEnvironment):
        for message in resolved.warnings:
            warnings.warn(message, EnvironmentWarning, stacklevel=2)
    return resolved


def _resolve(environment: Environment, *, strict: bool) -> ResolvedEnvironment | DockerPlan:
    curated = environment.tags.get(CURATED_TAG)
    if environment.build is not None:
        return _needs_docker(environment, f"build:{environment.build.path}")
    image = classify_image(environment.image) if environment.image else None
    spec = _pip_spec(environment)
    if image is not None and image.kind == "curated" and image.curated and spec is None:
        return _resolve(curated_environment(image.curated), strict=strict)
    found: list[str] = []
    if image is not None and image.kind == "other":
        if spec is None:
            return _needs_docker(environment, f"image:{image.reference}")
        if docker_available():
            return _docker_plan(environment, f"image:{image.reference}")
        found.append(
            f"base image {image.reference} was not used: no Docker engine answers, so the "
            "environment's dependencies are built into a local venv instead"
        )
    python_spec = spec.python if spec is not None else None
    if python_spec is None and image is not None and image.python:
        python_spec = f"=={image.python}.*"
    interpreter, warning = select_python(python_spec)
    if warning:
        found.append(warning)
    if strict and found:
        raise EnvironmentBuildError(
            f"environment {environment.name!r} cannot be built as specified "
            f"(--strict-environments): {'; '.join(found)}"
        )
    requirements = spec.requirements if spec is not None else ()
    source = _source(environment, image, curated)
    host = host_interpreter()
    if not requirements and interpreter.path == host.path:
        return host_environment(source=source, warnings=tuple(found))
    unique = tuple(sorted(dict.fromkeys(requirements), key=requirement_key))
    return ResolvedEnvironment(
        python=interpreter.path,
        requirements=unique,
        source=source,
        warnings=tuple(found),
        python_version=interpreter.version,
        notes=spec.notes if spec is not None else (),
    )


def _pip_spec(environment: Environment) -> PipSpec | None:
    """The environment's dependencies, or None when it declares none."""
    if environment.conda_file is None and not environment.pip_requirements:
        return None
    conda = conda_to_pip(environment.conda_file) if environment.conda_file is not None else None
    extra = pip_requirements(list(environment.pip_requirements or []))
    if conda is None:
        return extra
    return PipSpec(
        python=conda.python,
        requirements=(*conda.requirements, *extra.requirements),
        notes=(*conda.notes, *extra.notes),
    )


def _source(environment: Environment, image: ImageInfo | None, curated: str | None) -> str:
    if curated:
        return f"curated:{curated}"
    if environment.conda_file is not None:
        return "conda"
    if environment.pip_requirements:
        return "pip"
    if image is not None:
        return f"image:{image.reference}"
    return "host"


def _docker_plan(environment: Environment, source: str) -> DockerPlan:
    build = environment.build
    conda = environment.conda_file
    return DockerPlan(
        source=source,
        image=environment.image,
        build_path=build.path if build is not None else None,
        dockerfile_path=build.dockerfile_path if build is not None else None,
        conda_file=load_conda_file(conda) if conda is not None else None,
        pip_requirements=tuple(environment.pip_requirements or ()),
    )


def _needs_docker(environment: Environment, source: str) -> DockerPlan:
    if docker_available():
        return _docker_plan(environment, source)
    what = (
        f"build its Dockerfile ({environment.build.path})"
        if environment.build is not None
        else f"run its image {environment.image}"
    )
    raise EnvironmentBuildError(
        f"environment {environment.name!r} needs a Docker engine to {what}, and none "
        "answers (`docker info` failed or timed out). Start a Docker engine, or give the "
        "environment a conda_file or pip_requirements so Orchard can build a local venv."
    )


def python_of(resolved: ResolvedEnvironment) -> str:
    """`3.10`: the interpreter series, as messages name it."""
    return ".".join(resolved.version().split(".")[:2])
