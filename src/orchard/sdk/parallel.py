"""azure.ai.ml.parallel's builders: `parallel_run_function(...)` and `RunFunction(...)`.

`from orchard.parallel import parallel_run_function, RunFunction` reads as Azure's
import does; the result is a parallel component, so calling it with inputs inside a
`@dsl.pipeline` function gives a parallel step.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchard.entities.assets import Environment
from orchard.entities.components import INLINE_COMPONENT, ParallelComponent
from orchard.entities.jobs import Input, JobResources, Output
from orchard.entities.parallel import ParallelTask, RetrySettings


def RunFunction(
    *,
    entry_script: str,
    code: str | Path | None = None,
    program_arguments: str | None = None,
    append_row_to: str | None = None,
    environment: str | Environment | None = None,
    environment_variables: Mapping[str, Any] | None = None,
    **_: Any,
) -> ParallelTask:
    """The `task:` of a parallel step: the entry script every worker loads."""
    return ParallelTask(
        entry_script=entry_script,
        code=str(code) if code is not None else None,
        program_arguments=program_arguments,
        append_row_to=append_row_to,
        environment=environment,
        environment_variables={k: str(v) for k, v in (environment_variables or {}).items()},
    )


def parallel_run_function(
    *,
    task: ParallelTask,
    input_data: str,
    name: str | None = None,
    version: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    inputs: Mapping[str, Input] | None = None,
    outputs: Mapping[str, Output | None] | None = None,
    mini_batch_size: str | int | None = None,
    partition_keys: list[str] | None = None,
    instance_count: int | None = None,
    max_concurrency_per_instance: int = 1,
    mini_batch_error_threshold: int = -1,
    error_threshold: int = -1,
    retry_settings: RetrySettings | Mapping[str, Any] | None = None,
    logging_level: str = "INFO",
    is_deterministic: bool = True,
    **_: Any,
) -> ParallelComponent:
    """A parallel component, ready to be called with inputs as a pipeline step."""
    return ParallelComponent.model_validate(
        {
            "name": name or INLINE_COMPONENT,
            "version": version,
            "display_name": display_name,
            "description": description,
            "tags": dict(tags or {}),
            "inputs": dict(inputs or {}),
            "outputs": {k: v or Output() for k, v in (outputs or {}).items()},
            "input_data": input_data,
            "mini_batch_size": None if mini_batch_size is None else str(mini_batch_size),
            "partition_keys": partition_keys,
            "resources": JobResources(instance_count=instance_count) if instance_count else None,
            "max_concurrency_per_instance": max_concurrency_per_instance,
            "mini_batch_error_threshold": mini_batch_error_threshold,
            "error_threshold": error_threshold,
            "retry_settings": retry_settings or RetrySettings(),
            "logging_level": logging_level,
            "is_deterministic": is_deterministic,
            "task": task,
        }
    )
