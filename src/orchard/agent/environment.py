"""What a job runs in: a built venv, a container image, or the host's own interpreter."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchard.entities.assets import Environment
from orchard.services import Services

if TYPE_CHECKING:
    from orchard.runtime.environments.containers import ContainerImage


@dataclass(frozen=True)
class JobEnvironment:
    """Variables that put the job's Python first on PATH, or the image it runs in."""

    variables: dict[str, str] = field(default_factory=dict)
    container: ContainerImage | None = None


def job_environment(
    services: Services, spec: dict[str, Any] | None, log: Path, *, strict: bool = False
) -> JobEnvironment:
    """Build (or reuse) the job's environment, its build log appended to `log`.

    `strict` (`--strict-environments`) refuses a build that had to move a pinned package.
    """
    if spec is None:
        return JobEnvironment(_host())
    from orchard.runtime.environments import DockerPlan, EnvironmentBuilder, resolve_environment
    from orchard.runtime.environments.containers import prepare_image

    builder = EnvironmentBuilder(services.context.home / "environments", strict=strict)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as sink:

        def write(line: str) -> None:
            sink.write(line.rstrip("\n") + "\n")
            sink.flush()

        resolved = resolve_environment(Environment.model_validate(spec), strict=strict)
        if isinstance(resolved, DockerPlan):
            return JobEnvironment(container=prepare_image(resolved, write))
        return JobEnvironment(builder.build(resolved, log=write).env_vars())


def _host() -> dict[str, str]:
    # The interpreter running Orchard: Orchard and whatever the user installed beside it.
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
