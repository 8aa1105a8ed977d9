"""Run a sweep job: sample trials, run each as a child command job (at most
`max_concurrent_trials` at once), stop losing trials early, and record the best one.

Trial runners are this process's own children, so a trial's end is noticed the moment its
process exits; between ends an early-termination policy reads the running trials'
primary metric every POLL_SECONDS, and a cancel of the sweep is seen within
CANCEL_CHECK_SECONDS. Progress goes to the sweep's std_log (what `--stream`
shows) and to its `properties` (what `job show` shows).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from orchard.agent.launch import LOOK_NOW_SIGNAL
from orchard.agent.parent import CANCEL_CHECK_SECONDS, ParentRunner
from orchard.agent.tracking_server import preload
from orchard.entities.jobs import JobStatus
from orchard.entities.sweep import SweepJob
from orchard.entities.tracking import Param
from orchard.services import Services
from orchard.services.jobs.states import is_stopping, is_terminal
from orchard.sweep.sampling import Sampler, grid_size, make_sampler
from orchard.sweep.termination import TrialCurve, to_cancel

POLL_SECONDS = 0.1
DEFAULT_MAX_TOTAL_TRIALS = 1000  # Azure's default and its ceiling
EARLY_TERMINATED = "early_terminated"
ENDS = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, EARLY_TERMINATED)


@dataclass
class Trial:
    name: str
    params: dict[str, Any]
    pid: int
    status: str = JobStatus.QUEUED
    values: list[float] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def value(self) -> float | None:
        """The trial's score: the last value of the primary metric it logged."""
        return self.values[-1] if self.values else None


class SweepRunner(ParentRunner):
    what = "sweep"

    def __init__(self, services: Services, workspace: str, name: str, agent: str) -> None:
        super().__init__(services, workspace, name, agent)
        job = self.jobs.get(workspace, name)
        assert isinstance(job, SweepJob)
        self.sweep = job
        self.trials: dict[str, Trial] = {}
        self.exhausted = False
        self._changed = False  # trials started or ended since progress was last written
        self._preloaded = False

    # -- the loop --------------------------------------------------------------------------

    def _loop(self, log: TextIO) -> str:
        sampler = make_sampler(
            self.sweep.sampling_algorithm, self.sweep.search_space, self.sweep.objective.goal
        )
        limits = self.sweep.limits
        deadline = time.monotonic() + limits.timeout if limits.timeout else math.inf
        self._say(log, self._opening())
        while True:
            if is_stopping(self._beat()):
                self._abort(log, "the sweep was canceled")
                return self._end(JobStatus.CANCELED)
            if time.monotonic() >= deadline:
                self._abort(log, f"the sweep ran past limits.timeout ({limits.timeout} s)")
                return self._finish(log, timed_out=True)
            self._launch(sampler, log)
            if not self._active() and (self.exhausted or len(self.trials) >= self._max_total()):
                return self._finish(log, timed_out=False)
            if self._changed:
                self._record_progress()  # once for the ends and starts just seen
            exited = self.processes.wait(self._wait_seconds())
            self._refresh(sampler, log, exited)
            self._terminate_early(log)

    def _launch(self, sampler: Sampler, log: TextIO) -> None:
        while (
            not self.exhausted
            and len(self._active()) < self._max_concurrent()
            and len(self.trials) < self._max_total()
        ):
            params = sampler.suggest()
            if params is None:
                self.exhausted = True  # a grid has run every combination
                return
            self._start_trial(params, log)

    def _start_trial(self, params: dict[str, Any], log: TextIO) -> None:
        job = self.sweep.trial_job(len(self.trials), params)
        assert job.name
        self.jobs.submit(self.workspace, job)
        hyper = [Param(key=k, value=str(v)) for k, v in params.items()]
        self.services.runs.log_batch(self.workspace, job.name, params=hyper)
        pid = self.processes.start(job.name)
        self.trials[job.name] = Trial(job.name, params, pid)
        self._changed = True
        self._say(log, f"trial {job.name} started: {_params_text(params)}")

    def _refresh(self, sampler: Sampler, log: TextIO, exited: set[int]) -> None:
        """Read what changed: a trial's status changes only as its runner ends it, so only
        the trials whose process exited are read; the primary metric of running ones only
        when a policy will judge it. The sampler is told of each end."""
        judged = self.sweep.early_termination is not None
        ended = [t for t in self._active() if t.pid in exited]
        for trial in self._active():
            if judged or trial.pid in exited:
                trial.values = self._metric_values(trial.name)
        if ended and not self._preloaded and any(t.values for t in ended):
            # Its trials track: import the web stack here once, so every later trial's
            # runner (forked from this process) starts with it instead of importing it.
            preload()
            self._preloaded = True
        for trial in ended:
            trial.status = self._final_status(trial)
            ok = trial.status == JobStatus.COMPLETED or trial.stopped_early
            sampler.observe(trial.params, trial.value if ok else None)
            self._say(log, self._ended(trial))
            self._changed = True

    def _metric_values(self, trial: str) -> list[float]:
        metric = self.sweep.objective.primary_metric
        points, _ = self.services.runs.metric_history(self.workspace, trial, metric)
        return [p.value for p in sorted(points, key=lambda p: (p.step, p.timestamp))]

    def _final_status(self, trial: Trial) -> str:
        status = self.jobs.get(self.workspace, trial.name).status or trial.status
        if is_terminal(status):
            return status
        # A runner writes its job's end before it exits: this one died.
        lost = {"code": "RunnerLost", "message": f"the trial's runner {trial.pid} died"}
        return self.jobs.set_status(self.workspace, trial.name, JobStatus.FAILED, error=lost)

    def _terminate_early(self, log: TextIO) -> None:
        policy = self.sweep.early_termination
        if policy is None:
            return
        curves = [
            TrialCurve(t.name, t.values, finished=is_terminal(t.status))
            for t in self.trials.values()
        ]
        for name in sorted(to_cancel(policy, self.sweep.objective.goal, curves)):
            trial = self.trials[name]
            if trial.stopped_early or is_terminal(trial.status):
                continue
            trial.stopped_early = True
            self._cancel(trial)
            self._say(log, f"trial {name} stopped early by the {policy.type} policy")

    def _abort(self, log: TextIO, why: str) -> None:
        stopping = self._active()
        self._say(log, f"{why}: stopping {len(stopping)} running trial(s)")
        for trial in stopping:
            self._cancel(trial)
        while self.processes.running():
            self.processes.wait(POLL_SECONDS)
        for trial in stopping:
            trial.values = self._metric_values(trial.name)
            trial.status = self._final_status(trial)
            self._say(log, self._ended(trial))
        self._record_progress()

    def _cancel(self, trial: Trial) -> None:
        self.jobs.request_cancel(self.workspace, trial.name)
        with contextlib.suppress(ProcessLookupError):
            os.kill(trial.pid, LOOK_NOW_SIGNAL)  # its runner sees the cancel now, not in 1 s

    # -- the end ---------------------------------------------------------------------------

    def _finish(self, log: TextIO, *, timed_out: bool) -> str:
        self._record_progress()
        best = self._best()
        if best is None:
            return self._fail_unscored(log, self.sweep.objective.primary_metric)
        self.jobs.set_properties(
            self.workspace,
            self.name,
            {
                "best_child_run_id": best.name,
                "score": repr(best.value),
                "best_hyperparameters": json.dumps(best.params, sort_keys=True),
                "timed_out": "true" if timed_out else "false",
            },
        )
        metric = self.sweep.objective.primary_metric
        self._say(
            log, f"best trial {best.name}: {metric}={best.value} ({_params_text(best.params)})"
        )
        parts = ", ".join(f"{n} {state}" for state, n in self._counts().items())
        self._say(log, f"{len(self.trials)} trials: {parts}")
        return self._end(JobStatus.COMPLETED)

    def _best(self) -> Trial | None:
        """The trial with the best score (NaN scores never win)."""
        scored = [
            t for t in self.trials.values() if t.value is not None and not math.isnan(t.value)
        ]
        if not scored:
            return None
        pick = max if self.sweep.objective.goal == "maximize" else min
        return pick(scored, key=lambda t: t.value or 0.0)

    def _fail_unscored(self, log: TextIO, metric: str) -> str:
        failed = [t for t in self.trials.values() if t.status == JobStatus.FAILED]
        if self.trials and len(failed) == len(self.trials):
            first = self.jobs.get(self.workspace, failed[0].name).error or {}
            message = f"all {len(failed)} trials failed; the first: {first.get('message', '?')}"
            code = "AllTrialsFailed"
        else:
            logged = self._metrics_logged()
            message = (
                f"no trial logged the primary metric {metric!r} "
                f"(objective.primary_metric); the trials logged "
                f"{', '.join(map(repr, logged)) if logged else 'no metrics at all'}"
            )
            code = "PrimaryMetricNotLogged"
        self._say(log, message)
        return self._end(JobStatus.FAILED, error={"code": code, "message": message})

    def _metrics_logged(self) -> list[str]:
        data = self.jobs.run_data(self.workspace, list(self.trials))
        return sorted({m.key for run in data.values() for m in run.metrics})

    # -- bookkeeping -----------------------------------------------------------------------

    def _record_progress(self) -> None:
        counts = self._counts()
        progress = {
            "trials_started": str(len(self.trials)),
            "trials_running": str(len(self._active())),
            **{f"trials_{state.lower()}": str(counts.get(state, 0)) for state in ENDS},
        }
        best = self._best()
        if best is not None:
            progress |= {"best_child_run_id": best.name, "score": repr(best.value)}
        self.jobs.set_properties(self.workspace, self.name, progress)
        self._changed = False

    def _counts(self) -> dict[str, int]:
        """How many trials ended each way, a stopped one as early_terminated."""
        counts: dict[str, int] = {}
        for trial in self.trials.values():
            if is_terminal(trial.status):
                state = EARLY_TERMINATED if trial.stopped_early else trial.status
                counts[state] = counts.get(state, 0) + 1
        return dict(sorted(counts.items()))

    def _opening(self) -> str:
        s = self.sweep
        return (
            f"sweep {self.name}: {s.sampling_algorithm.type} sampling over "
            f"{', '.join(s.search_space)}; {s.objective.goal} {s.objective.primary_metric}; "
            f"at most {self._max_total()} trials, {self._max_concurrent()} at a time"
        )

    def _ended(self, trial: Trial) -> str:
        metric = self.sweep.objective.primary_metric
        how = "stopped early" if trial.stopped_early else trial.status
        score = f"{metric}={trial.value}" if trial.value is not None else f"no {metric} logged"
        return f"trial {trial.name} {how}: {score}"

    def _say(self, log: TextIO, line: str) -> None:
        log.write(line + "\n")

    def _active(self) -> list[Trial]:
        return [t for t in self.trials.values() if not is_terminal(t.status)]

    def _max_total(self) -> int:
        limit = self.sweep.limits.max_total_trials or DEFAULT_MAX_TOTAL_TRIALS
        if self.sweep.sampling_algorithm.type == "grid":
            return min(limit, grid_size(self.sweep.search_space))
        return limit

    def _max_concurrent(self) -> int:
        # Azure bounds concurrency by the cluster's nodes; locally, by the cores.
        given = self.sweep.limits.max_concurrent_trials
        return given or min(self._max_total(), os.cpu_count() or 1)

    def _wait_seconds(self) -> float:
        """How long to wait for a trial to end before looking again: a policy reads the
        running trials' metrics this often; with none, only a cancel is waited for."""
        return POLL_SECONDS if self.sweep.early_termination is not None else CANCEL_CHECK_SECONDS


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())
