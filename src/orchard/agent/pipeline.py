"""Run a pipeline job: each step as a child job once the steps it reads from completed,
independent ones side by side up to the compute's capacity.

A step whose reuse key matches an earlier completed step takes that step's outputs and
shows as reused. A failed step fails the pipeline: the running steps are canceled and the
rest skipped, unless `continue_on_step_failure`, where only the steps downstream of it
are skipped. Step runners are this process's children, so a step's end is seen the
moment its process exits.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, TextIO

from orchard.agent.finalize import register_outputs
from orchard.agent.launch import LOOK_NOW_SIGNAL
from orchard.agent.parent import CANCEL_CHECK_SECONDS, ParentRunner
from orchard.entities.compute import ComputeBase
from orchard.entities.job_types import job_of
from orchard.entities.jobs import CommandJob, Input, JobStatus
from orchard.entities.pipelines import PipelineJob
from orchard.errors import NotFound
from orchard.services import Services
from orchard.services.jobs.states import is_stopping, is_terminal
from orchard.services.pipelines.steps import REUSED, SKIPPED, fill_upstream


@dataclass
class StepRun:
    name: str
    job: str
    status: str = JobStatus.NOT_STARTED
    pid: int | None = None
    reuse_key: str | None = None

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.COMPLETED, REUSED)

    @property
    def ended(self) -> bool:
        return self.done or self.status in (JobStatus.FAILED, JobStatus.CANCELED, SKIPPED)


class PipelineRunner(ParentRunner):
    what = "pipeline"

    def __init__(self, services: Services, workspace: str, name: str, agent: str) -> None:
        super().__init__(services, workspace, name, agent)
        job = self.jobs.get(workspace, name)
        assert isinstance(job, PipelineJob)
        self.pipeline = job
        self.resolved = self.jobs.resolved(workspace, name)
        self.plans: dict[str, dict[str, Any]] = self.resolved["steps"]
        self.steps = {step: StepRun(step, plan["job"]["name"]) for step, plan in self.plans.items()}
        self.failure: tuple[str, dict[str, Any]] | None = None

    def _loop(self, log: TextIO) -> str:
        log.write(f"pipeline {self.name}: {len(self.steps)} steps, {self._capacity()} at a time\n")
        while True:
            if is_stopping(self._beat()):
                self._abort(log, "the pipeline was canceled")
                self._skip_rest(log)
                return self._end(JobStatus.CANCELED)
            self._launch_ready(log)
            if not self._running():
                self._skip_rest(log)
                return self._finish(log)
            exited = self.processes.wait(CANCEL_CHECK_SECONDS)
            for step in self._running():
                if step.pid in exited:
                    self._ended(step, log)
            if self.failure and not self.pipeline.settings.continue_on_step_failure:
                self._abort(log, f"step {self.failure[0]!r} did not complete")

    # -- starting steps ----------------------------------------------------------------

    def _launch_ready(self, log: TextIO) -> None:
        progressed = True
        while progressed:  # a reused step may make its downstream steps ready at once
            progressed = False
            for step in self.steps.values():
                if step.status != JobStatus.NOT_STARTED:
                    continue
                needs = [self.steps[up] for up in self.plans[step.name]["needs"]]
                if any(up.ended and not up.done for up in needs):
                    self._set(step, SKIPPED, log, "skipped: a step it reads from did not complete")
                    progressed = True
                elif all(up.done for up in needs) and self._may_start():
                    self._start(step, log)
                    progressed = step.done or progressed

    def _start(self, step: StepRun, log: TextIO) -> None:
        plan = self.plans[step.name]
        spec = fill_upstream(plan["job"], self._upstream_inputs(plan))
        child = job_of(spec)
        if isinstance(child, CommandJob) and plan["deterministic"]:
            step.reuse_key = self.services.step_reuse.key(self.workspace, child)
            if not self.pipeline.settings.force_rerun:
                origin = self.services.step_reuse.find(self.workspace, step.reuse_key)
                if origin is not None and self._reuse(child, origin):
                    self._set(step, REUSED, log, f"reused the outputs of {origin}")
                    return
        self.jobs.submit(self.workspace, child)
        step.pid = self.processes.start(step.job)
        self._set(step, JobStatus.QUEUED, log, f"started as job {step.job}")

    def _reuse(self, child: CommandJob, origin: str) -> bool:
        try:
            experiment = self.services.experiments.get_or_create(
                self.workspace, child.experiment_name or "Default"
            )
            self.services.step_reuse.record_reused(
                self.workspace, experiment.experiment_id, child, origin
            )
        except NotFound:
            return False  # the job it would reuse was deleted meanwhile
        return True

    def _upstream_inputs(self, plan: dict[str, Any]) -> dict[str, Input]:
        bound: dict[str, Input] = {}
        for name, source in plan["from_steps"].items():
            produced = self.jobs.resolved(self.workspace, self.steps[source["step"]].job)
            output = produced["outputs"][source["output"]]
            bound[name] = Input(type=source["type"], path=output["uri"], mode=source.get("mode"))
        return bound

    # -- steps ending ------------------------------------------------------------------

    def _ended(self, step: StepRun, log: TextIO) -> None:
        job = self.jobs.get(self.workspace, step.job)
        status = job.status or JobStatus.FAILED
        if not is_terminal(status):
            lost = {"code": "RunnerLost", "message": f"the step's runner {step.pid} died"}
            status = self.jobs.set_status(self.workspace, step.job, JobStatus.FAILED, error=lost)
            job = self.jobs.get(self.workspace, step.job)
        if status == JobStatus.COMPLETED and step.reuse_key:
            self.services.step_reuse.remember(self.workspace, step.reuse_key, step.job)
        message = (job.error or {}).get("message")
        self._set(step, status, log, message or "")
        if status != JobStatus.COMPLETED and self.failure is None:
            self.failure = (step.name, job.error or {"message": f"the step ended {status}"})

    def _abort(self, log: TextIO, why: str) -> None:
        running = self._running()
        if running:
            log.write(f"{why}: canceling {len(running)} running step(s)\n")
        for step in running:
            self.jobs.request_cancel(self.workspace, step.job)
            if step.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(step.pid, LOOK_NOW_SIGNAL)
        while self.processes.running():
            self.processes.wait(CANCEL_CHECK_SECONDS)
        for step in running:
            self._ended(step, log)
        self._skip_rest(log)

    def _skip_rest(self, log: TextIO) -> None:
        for step in self.steps.values():
            if step.status == JobStatus.NOT_STARTED:
                self._set(step, SKIPPED, log, "skipped")

    # -- the end -----------------------------------------------------------------------

    def _finish(self, log: TextIO) -> str:
        counts: dict[str, int] = {}
        for run in self.steps.values():
            counts[run.status] = counts.get(run.status, 0) + 1
        log.write(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) + "\n")
        if self.failure is not None:
            step, error = self.failure
            message = f"step {step!r} failed: {error.get('message', '?')}"
            return self._end(JobStatus.FAILED, {"code": "StepFailed", "message": message})
        outputs = self._pipeline_outputs()
        self.jobs.set_resolved_outputs(self.workspace, self.name, outputs)
        register_outputs(self.services, self.workspace, self.name, outputs)
        return self._end(JobStatus.COMPLETED)

    def _pipeline_outputs(self) -> dict[str, dict[str, Any]]:
        """The pipeline's outputs, each where the step bound to it wrote (or, reused, where
        the step it reused wrote)."""
        outputs: dict[str, dict[str, Any]] = dict(self.resolved.get("outputs", {}))
        for step, plan in self.plans.items():
            for output, parent in plan["to_parent"].items():
                produced = self.jobs.resolved(self.workspace, self.steps[step].job)["outputs"]
                outputs[parent] = {**outputs[parent], "uri": produced[output]["uri"]}
        return outputs

    # -- bookkeeping -------------------------------------------------------------------

    def _set(self, step: StepRun, status: str, log: TextIO, detail: str) -> None:
        step.status = status
        shown = "started" if status == JobStatus.QUEUED else status
        log.write(f"step {step.name} {shown}{': ' + detail if detail else ''}\n")

    def _running(self) -> list[StepRun]:
        return [s for s in self.steps.values() if s.pid is not None and not s.ended]

    def _may_start(self) -> bool:
        return len(self._running()) < self._capacity()

    def _capacity(self) -> int:
        """Steps at once: the cluster's nodes, or locally the machine's cores."""
        compute_name = self.resolved.get("compute", "local")
        if compute_name != "local":
            with contextlib.suppress(NotFound):
                compute = self.services.compute.get(self.workspace, compute_name)
                nodes = getattr(compute, "max_instances", None)
                if isinstance(compute, ComputeBase) and isinstance(nodes, int):
                    return max(1, nodes)
        return max(1, os.cpu_count() or 1)
