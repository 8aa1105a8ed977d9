"""Jobs whose environment is a container: the image is pulled or built once, then the
command runs in it with the job's folders mounted at the paths they have on the host.

An image is prepared in one of three ways, as Azure ML does for an environment:
- `image:` alone: that image, pulled when the engine does not have it yet;
- `image:` with a `conda_file` or pip requirements: an image derived from it with those
  packages installed (conda where the image has it, pip otherwise);
- `build:` a Docker build context and its Dockerfile.
Derived and built images are tagged `orchard-env:<digest of what went into them>`, so a
second job asking for the same reuses the image instead of building it again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from orchard.runtime.environments.conda import conda_to_pip
from orchard.runtime.environments.errors import EnvironmentBuildError
from orchard.runtime.environments.images import DockerPlan

IMAGE_REPOSITORY = "orchard-env"
Log = Callable[[str], None]

# Conda where the image has it (Azure's base images); else a venv that sees the image's own
# packages, since Debian-based images refuse a system-wide pip install (PEP 668).
_DERIVED_DOCKERFILE = """\
FROM {base}
COPY conda.yml requirements.txt /tmp/orchard-environment/
RUN if command -v conda >/dev/null 2>&1; then \\
      conda env update --name base --file /tmp/orchard-environment/conda.yml; \\
    else \\
      python3 -m venv --system-site-packages /opt/orchard-venv && \\
      /opt/orchard-venv/bin/python -m pip install --no-cache-dir \\
        -r /tmp/orchard-environment/requirements.txt; \\
    fi
ENV PATH=/opt/orchard-venv/bin:$PATH
"""


@dataclass(frozen=True)
class ContainerImage:
    """An image ready on the engine, and how a job's command runs in it."""

    reference: str

    def run_argv(
        self,
        command: str,
        *,
        name: str,
        workdir: Path,
        mounts: Iterable[tuple[Path, bool]],
        variables: Iterable[str],
    ) -> list[str]:
        """`docker run` for one job. Host networking lets the script reach the job's
        tracking API on loopback; `-e NAME` takes each value from the docker CLI's own
        environment, so no value (a token, a secret) appears in a process listing."""
        argv = [_docker(), "run", "--rm", "--init", "--name", name, "--network", "host"]
        if os.getuid() != 0:
            argv += ["--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp"]
        seen: set[Path] = set()
        for path, read_only in sorted(mounts, key=lambda m: len(str(m[0]))):
            if path in seen or any(parent in seen for parent in path.parents):
                continue  # already visible through a mount above it
            seen.add(path)
            argv += ["-v", f"{path}:{path}{':ro' if read_only else ''}"]
        for variable in variables:
            argv += ["-e", variable]
        argv += ["-w", str(workdir), self.reference, "/bin/sh", "-c", command]
        return argv


def remove_container(name: str) -> None:
    """Remove a job's container if it is still there (its CLI was killed, say)."""
    subprocess.run(
        [_docker(), "rm", "--force", name],
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def prepare_image(plan: DockerPlan, log: Log) -> ContainerImage:
    """The image `plan` asks for, pulled or built now if the engine lacks it."""
    if plan.build_path is not None:
        return _build_context(Path(plan.build_path), plan.dockerfile_path or "Dockerfile", log)
    assert plan.image is not None  # a plan has an image or a build context
    if plan.conda_file is None and not plan.pip_requirements:
        _ensure_pulled(plan.image, log)
        return ContainerImage(plan.image)
    return _build_derived(plan, log)


def _build_derived(plan: DockerPlan, log: Log) -> ContainerImage:
    assert plan.image is not None
    conda = plan.conda_file or {"dependencies": [{"pip": list(plan.pip_requirements)}]}
    requirements = [*conda_to_pip(conda).requirements, *plan.pip_requirements]
    files = {
        "Dockerfile": _DERIVED_DOCKERFILE.format(base=plan.image),
        "conda.yml": yaml.safe_dump(conda, sort_keys=True),
        "requirements.txt": "".join(f"{line}\n" for line in dict.fromkeys(requirements)),
    }
    digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()
    reference = f"{IMAGE_REPOSITORY}:{digest[:32]}"
    if _image_exists(reference):
        log(f"reusing image {reference} (from {plan.image} with the environment's packages)")
        return ContainerImage(reference)
    _ensure_pulled(plan.image, log)
    with tempfile.TemporaryDirectory(prefix="orchard-image-") as context:
        for file_name, text in files.items():
            Path(context, file_name).write_text(text, encoding="utf-8")
        _docker_build(Path(context), "Dockerfile", reference, log)
    return ContainerImage(reference)


def _build_context(context: Path, dockerfile: str, log: Log) -> ContainerImage:
    if not (context / dockerfile).is_file():
        raise EnvironmentBuildError(
            f"the environment's build context {context} has no {dockerfile} "
            "(build.path and build.dockerfile_path)"
        )
    reference = f"{IMAGE_REPOSITORY}:{_folder_digest(context, dockerfile)[:32]}"
    if _image_exists(reference):
        log(f"reusing image {reference} built from {context}")
        return ContainerImage(reference)
    _docker_build(context, dockerfile, reference, log)
    return ContainerImage(reference)


def _folder_digest(folder: Path, dockerfile: str) -> str:
    digest = hashlib.sha256(dockerfile.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _ensure_pulled(reference: str, log: Log) -> None:
    if _image_exists(reference):
        log(f"image {reference} is on the engine")
        return
    log(f"pulling image {reference}")
    _stream([_docker(), "pull", reference], log, f"cannot pull image {reference}")


def _docker_build(context: Path, dockerfile: str, reference: str, log: Log) -> None:
    log(f"building image {reference} from {context / dockerfile}")
    # Host networking: a build's package installs reach what the host reaches.
    argv = [_docker(), "build", "--network", "host", "--tag", reference]
    argv += ["--file", str(context / dockerfile)]
    _stream([*argv, str(context)], log, f"the Docker build of {context / dockerfile} failed")


def _image_exists(reference: str) -> bool:
    done = subprocess.run(
        [_docker(), "image", "inspect", reference],
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode == 0


def _stream(argv: list[str], log: Log, failure: str) -> None:
    """Run a docker command, its output going line by line to the build log."""
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        last: list[str] = []
        for line in process.stdout:
            log(line)
            last = [*last[-19:], line.rstrip("\n")]
    if process.returncode != 0:
        raise EnvironmentBuildError(f"{failure}: " + " | ".join(last[-5:]))


def _docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise EnvironmentBuildError("the `docker` command is not on PATH")
    return found
