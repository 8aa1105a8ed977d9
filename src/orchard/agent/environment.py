"""The interpreter a job runs with: a built venv, or the host's own when none is asked."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from orchard.entities.assets import Environment
from orchard.services import Services


def job_environment(
    services: Services, spec: dict[str, Any] | None, log: Path, *, strict: bool = False
) -> dict[str, str]:
    """Environment variables that put the job's Python first on PATH.

    `strict` (`--strict-environments`) refuses a build that had to move a pinned package.
    """
    if spec is None:
        return _host()
    from orchard.runtime.environments import EnvironmentBuilder

    builder = EnvironmentBuilder(services.context.home / "environments", strict=strict)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as sink:

        def write(line: str) -> None:
            sink.write(line.rstrip("\n") + "\n")

        built = builder.build(Environment.model_validate(spec), log=write)
    return built.env_vars()


def _host() -> dict[str, str]:
    # The interpreter running Orchard: Orchard and whatever the user installed beside it.
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
