"""Parallel step shapes: Azure ML v2 `type: parallel` (parallelComponent / parallel job).

A parallel step runs a user's entry script over its input split into mini-batches, in
many worker processes. `ParallelSettings` holds the parallel-only fields, so a component
and a pipeline job step can both carry them; `orchard.parallel` is the engine that runs
them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from orchard.entities.assets import Environment
from orchard.entities.base import Entity, string_values
from orchard.entities.jobs import JobResources, name_inline_environment

DEFAULT_OUTPUT_FILE = "parallel_run_step.txt"
LoggingLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    BeforeValidator(lambda v: str(v).upper()),
]

# The same grammar as orchard.parallel.sizes, which the driver uses: the driver must not
# import pydantic entities at start, and entities may not import the engine.
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]b)?\s*$", re.IGNORECASE)
_UNITS = {"kb": 1024, "mb": 1024**2, "gb": 1024**3}


class RetrySettings(Entity):
    max_retries: int = Field(default=3, ge=0)
    timeout: int = Field(default=60, ge=1, description="seconds, each mini-batch")


class ParallelTask(Entity):
    """The `task:` section: the entry script every worker loads."""

    type: Literal["run_function"] = "run_function"
    code: str | None = None
    entry_script: str = Field(min_length=1)
    program_arguments: str | None = None
    append_row_to: str | None = None
    environment: str | Environment | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)

    _inline_environment = field_validator("environment", mode="before")(name_inline_environment)

    _stringify = field_validator("environment_variables", mode="before")(string_values)


class ParallelSettings(Entity):
    """What makes a step parallel: how its input is split and how failures are borne."""

    input_data: str = Field(min_length=1)
    mini_batch_size: str | None = None
    partition_keys: list[str] | None = None
    resources: JobResources | None = None
    max_concurrency_per_instance: int = Field(default=1, ge=1)
    mini_batch_error_threshold: int = Field(default=-1, ge=-1)
    error_threshold: int = Field(default=-1, ge=-1)
    retry_settings: RetrySettings = Field(default_factory=RetrySettings)
    logging_level: LoggingLevel = "INFO"
    environment_variables: dict[str, str] = Field(default_factory=dict)
    task: ParallelTask

    _check_size = field_validator("mini_batch_size")(lambda value: check_mini_batch_size(value))

    @field_validator("partition_keys")
    @classmethod
    def _check_keys(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(not key for key in value)):
            raise ValueError("partition_keys: give one or more column names")
        return value

    _stringify = field_validator("environment_variables", mode="before")(string_values)

    @property
    def worker_count(self) -> int:
        instances = self.resources.instance_count if self.resources else 1
        return instances * self.max_concurrency_per_instance

    def splits_by_size(self) -> bool:
        """As on Azure, partition_keys win: given both, mini_batch_size is not used."""
        return self.mini_batch_size is not None and not self.partition_keys


def check_mini_batch_size(value: str | None) -> str | None:
    if value is not None:
        parse_mini_batch_size(value)
    return value


def parse_mini_batch_size(value: str | int) -> tuple[int, int | None]:
    """`"10"` -> (10, None); `"100kb"` -> (100, 1024). Units are powers of 1024."""
    found = _SIZE.match(str(value))
    if found is None or int(found.group(1)) < 1:
        raise ValueError(
            f"mini_batch_size: {value!r} is not a size; give a number of files such as "
            "'10', or bytes such as '100kb', '10mb', '1gb'"
        )
    unit = found.group(2)
    return int(found.group(1)), _UNITS[unit.lower()] if unit else None
