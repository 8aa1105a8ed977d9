"""`command(...)`: azure.ai.ml's builder for command jobs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchard.entities.assets import Environment
from orchard.entities.jobs import CommandJob, Input, JobLimits, Output


def command(
    *,
    command: str,
    code: str | Path | None = None,
    inputs: Mapping[str, Input | str | int | float | bool] | None = None,
    outputs: Mapping[str, Output | None] | None = None,
    environment: str | Environment | None = None,
    compute: str | None = None,
    environment_variables: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    name: str | None = None,
    timeout: int | None = None,
    **_: Any,
) -> CommandJob:
    """A command job, ready for `ml_client.jobs.create_or_update`."""
    return CommandJob(
        command=command,
        code=str(code) if code is not None else None,
        inputs=dict(inputs or {}),
        outputs=dict(outputs or {}),
        environment=environment,
        compute=compute,
        environment_variables={k: str(v) for k, v in (environment_variables or {}).items()},
        experiment_name=experiment_name,
        display_name=display_name,
        description=description,
        tags=dict(tags or {}),
        name=name,
        limits=JobLimits(timeout=timeout) if timeout else None,
    )
