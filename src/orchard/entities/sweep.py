"""Sweep jobs: Azure ML v2 `sweepJob`, many trials of one command over a search space.

The trial command names its hyperparameters as `${{search_space.<name>}}`; each trial is a
child command job whose command has them filled in. The search space, sampling algorithms
and early-termination policies have their own modules (`search_space`,
`early_termination`); this one holds the job around them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from orchard.entities.assets import Environment
from orchard.entities.base import Entity
from orchard.entities.early_termination import EarlyTerminationPolicy
from orchard.entities.jobs import (
    SCHEMA_ROOT,
    CommandJob,
    JobBase,
    JobResources,
    Output,
    name_inline_environment,
)
from orchard.entities.jobs import Distribution as TrainingDistribution
from orchard.entities.search_space import Distribution, SamplingAlgorithm
from orchard.entities.search_space import sampling_algorithm as as_sampling_algorithm

SEARCH_SPACE_REFERENCE = re.compile(r"\$\{\{\s*search_space\.([A-Za-z0-9_]+)\s*\}\}")
Goal = Annotated[Literal["maximize", "minimize"], BeforeValidator(lambda v: str(v).lower())]


class Objective(Entity):
    goal: Goal
    primary_metric: str = Field(min_length=1)


class SweepLimits(Entity):
    max_total_trials: int | None = Field(default=None, ge=1)
    max_concurrent_trials: int | None = Field(default=None, ge=1)
    timeout: int | None = Field(default=None, ge=1, description="seconds, the whole sweep")
    trial_timeout: int | None = Field(default=None, ge=1, description="seconds, each trial")


class TrialCommand(Entity):
    """The `trial:` section: what every trial runs."""

    type: Literal["command"] = "command"
    command: str = Field(min_length=1)
    code: str | None = None
    environment: str | Environment | None = None
    environment_variables: dict[str, str] = Field(default_factory=dict)
    resources: JobResources | None = None
    distribution: TrainingDistribution | None = None

    _inline_environment = field_validator("environment", mode="before")(name_inline_environment)


def _trial_of(value: Any) -> Any:
    """`SweepJob(trial=command_job)`, as azure.ai.ml allows: its command part."""
    if isinstance(value, CommandJob):
        return {name: getattr(value, name) for name in TrialCommand.model_fields if name != "type"}
    return value


class SweepJob(JobBase):
    kind: ClassVar[str] = "job"
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/sweepJob.schema.json"
    local_path_fields: ClassVar[tuple[str, ...]] = ()

    type: Literal["sweep"] = "sweep"
    trial: Annotated[TrialCommand, BeforeValidator(_trial_of)]
    search_space: dict[str, Distribution]
    sampling_algorithm: Annotated[SamplingAlgorithm, BeforeValidator(as_sampling_algorithm)] = (
        Field(default_factory=lambda: as_sampling_algorithm("random"))
    )
    objective: Objective
    limits: SweepLimits = Field(default_factory=SweepLimits)
    early_termination: EarlyTerminationPolicy | None = None
    resources: JobResources | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SweepJob:
        if not self.search_space:
            raise ValueError("search_space: at least one hyperparameter is needed")
        unknown = sorted(set(self.trial_references()) - set(self.search_space))
        if unknown:
            raise ValueError(
                f"trial.command names {', '.join(f'search_space.{n}' for n in unknown)}, "
                f"which the search_space does not define (it has {', '.join(self.search_space)})"
            )
        if self.sampling_algorithm.type == "bayesian" and self.early_termination is not None:
            raise ValueError(
                "early_termination: Bayesian sampling does not support early termination "
                "(as in Azure ML); remove the policy or use random or grid sampling"
            )
        return self

    def set_limits(
        self,
        *,
        max_concurrent_trials: int | None = None,
        max_total_trials: int | None = None,
        timeout: int | None = None,
        trial_timeout: int | None = None,
    ) -> None:
        """azure.ai.ml's `sweep_job.set_limits(...)`: the limits given are replaced."""
        given = {
            "max_concurrent_trials": max_concurrent_trials,
            "max_total_trials": max_total_trials,
            "timeout": timeout,
            "trial_timeout": trial_timeout,
        }
        current = self.limits.model_dump()
        self.limits = SweepLimits(**(current | {k: v for k, v in given.items() if v is not None}))

    def trial_references(self) -> list[str]:
        """The `${{search_space.x}}` names the trial command uses, in order."""
        return SEARCH_SPACE_REFERENCE.findall(self.trial.command)

    def trial_job(self, index: int, params: dict[str, Any]) -> CommandJob:
        """Trial `index` as the command job that runs it."""
        command = SEARCH_SPACE_REFERENCE.sub(lambda m: str(params[m.group(1)]), self.trial.command)
        limits = {"timeout": self.limits.trial_timeout} if self.limits.trial_timeout else None
        return CommandJob.model_validate(
            {
                "name": f"{self.name}_{index}",
                "display_name": f"{self.display_name or self.name}_{index}",
                "experiment_name": self.experiment_name,
                "parent_job_name": self.name,
                "command": command,
                "code": self.trial.code,
                "environment": self.trial.environment,
                "environment_variables": self.trial.environment_variables,
                "compute": self.compute,
                "inputs": self.inputs,
                # Each trial writes its own outputs; only the sweep registers named ones.
                "outputs": {
                    k: Output(type=v.type, mode=v.mode) for k, v in self.outputs.items() if v
                },
                "limits": limits,
                "resources": self.trial.resources,
            }
        )


def sweep_of(
    job: CommandJob,
    *,
    primary_metric: str,
    goal: str,
    sampling_algorithm: str | dict[str, Any] | SamplingAlgorithm = "random",
    compute: str | None = None,
    max_concurrent_trials: int | None = None,
    max_total_trials: int | None = None,
    timeout: int | None = None,
    trial_timeout: int | None = None,
    early_termination_policy: EarlyTerminationPolicy | None = None,
    search_space: dict[str, Any] | None = None,
    identity: dict[str, Any] | None = None,
    queue_settings: dict[str, Any] | None = None,
    **_: Any,
) -> SweepJob:
    """The sweep of a command job whose inputs were given distributions: its command's
    `${{inputs.x}}` for each of those becomes `${{search_space.x}}`."""
    space = {**job._search_space, **(search_space or {})}
    command = job.command
    for name in space:
        command = re.sub(
            r"\$\{\{\s*inputs\." + re.escape(name) + r"\s*\}\}",
            f"${{{{search_space.{name}}}}}",
            command,
        )
    trial = _trial_of(job) | {"command": command}
    return SweepJob(
        name=job.name,
        display_name=job.display_name,
        experiment_name=job.experiment_name,
        description=job.description,
        tags=job.tags,
        compute=compute or job.compute,
        trial=trial,
        inputs={k: v for k, v in job.inputs.items() if k not in space},
        outputs=job.outputs,
        search_space=space,
        sampling_algorithm=sampling_algorithm,
        objective=Objective(primary_metric=primary_metric, goal=goal),
        limits=SweepLimits(
            max_concurrent_trials=max_concurrent_trials,
            max_total_trials=max_total_trials,
            timeout=timeout,
            trial_timeout=trial_timeout,
        ),
        early_termination=early_termination_policy,
        identity=identity,
        queue_settings=queue_settings,
    )
