"""Every job type a workspace holds, as one union."""

from __future__ import annotations

from typing import Any

from orchard.entities.jobs import CommandJob
from orchard.entities.pipelines import PipelineJob
from orchard.entities.sweep import SweepJob

Job = CommandJob | SweepJob | PipelineJob


def job_of(spec: dict[str, Any]) -> Job:
    """The job a stored spec holds, by its `type` (a command job when it has none)."""
    kind = spec.get("type") or "command"
    if kind == "sweep":
        return SweepJob.model_validate(spec)
    if kind == "pipeline":
        return PipelineJob.model_validate(spec)
    return CommandJob.model_validate({"command": "", **spec, "type": "command"})
