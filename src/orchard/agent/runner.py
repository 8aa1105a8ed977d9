"""Run one job from Queued to a terminal state.

`python -m orchard.agent.runner --workspace W --job J` is what the embedded transport
starts in the background for each submitted job. A watcher thread heart-beats and
notices a cancel recorded in the store (by any client, on any host).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import socket
import threading
import traceback
from pathlib import Path
from typing import Any

from orchard.agent.environment import job_environment
from orchard.agent.finalize import collect_artifacts, collect_system_logs, deliver_outputs
from orchard.agent.launch import LOOK_NOW_SIGNAL
from orchard.agent.process import CommandProcess, Outcome, become_subreaper, tail
from orchard.agent.tracking_server import serve_tracking
from orchard.agent.workdir import JobFolder, job_root, prepare
from orchard.config import Settings
from orchard.entities.jobs import (
    ERROR_CODE_TAG,
    ERROR_TAG,
    SCRIPT_FAILED_TAG,
    STRICT_ENVIRONMENTS,
    CommandJob,
    JobStatus,
)
from orchard.entities.pipelines import PipelineJob
from orchard.entities.sweep import SweepJob
from orchard.errors import OrchardError
from orchard.runtime.environments.containers import ContainerImage, remove_container
from orchard.services import Services
from orchard.services.jobs.binding import render
from orchard.services.jobs.states import is_stopping

WATCH_INTERVAL_SECONDS = 1.0
HEARTBEAT_EVERY = 5  # watch ticks


def agent_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    def __init__(self, services: Services, workspace: str, name: str) -> None:
        self.services, self.workspace, self.name = services, workspace, name
        self.jobs = services.jobs
        self._process: CommandProcess | None = None
        self._done = threading.Event()
        self._look = threading.Event()  # wakes the watcher before its next tick

    def run(self) -> str:
        if not self._advance(JobStatus.PREPARING, agent_id=agent_id()):
            return self._status()
        watcher = threading.Thread(target=self._watch, name="orchard-watch", daemon=True)
        watcher.start()
        try:
            return self._run()
        except OrchardError as error:
            return self._fail({"code": error.code, "message": error.message})
        except Exception as error:  # a bug in Orchard: the job must not stay Running
            return self._fail(
                {
                    "code": "InternalError",
                    "message": repr(error),
                    "traceback": traceback.format_exc(),
                }
            )
        finally:
            self._done.set()
            self._look.set()

    def look_now(self) -> None:
        self._look.set()

    def _run(self) -> str:
        job = self.jobs.get(self.workspace, self.name)
        assert isinstance(job, CommandJob)  # a sweep has its own runner
        resolved = self.jobs.resolved(self.workspace, self.name)
        root = job_root(self.services, self.name)
        try:
            environment = job_environment(
                self.services,
                resolved.get("environment"),
                root / "logs" / "environment_build.log",
                strict=job.properties.get(STRICT_ENVIRONMENTS) == "true",
            )
        except OrchardError:
            collect_system_logs(self.services, self.workspace, root, resolved["artifact_uri"])
            raise
        folder = prepare(self.services, self.workspace, self.name, resolved, job.code)
        _warn_of_services(job, folder)
        command = render(
            job.command,
            {"inputs": folder.inputs, "outputs": folder.outputs},
            where=f"job {self.name}",
        )
        # A trial's sweep imports the web stack for it once trials are seen to track.
        early = job.parent_job_name is None
        with serve_tracking(self.services, self.workspace, import_early=early) as tracking_uri:
            if not self._advance(JobStatus.RUNNING):
                return self._end_canceled()
            variables = self._variables(job, tracking_uri)
            if environment.container is not None:
                command = self._in_container(environment.container, command, folder, variables)
            process = CommandProcess(
                command,
                cwd=folder.wd,
                log=folder.std_log,
                env=_with_orchard_importable(
                    {**os.environ, **environment.variables, **variables}, folder
                ),
            )
            self._process = process
            timeout = job.limits.timeout if job.limits and job.limits.timeout else None
            try:
                outcome = process.run(timeout)
            finally:
                if environment.container is not None:
                    remove_container(self._container_name())
        return self._finish(job, folder, outcome, resolved)

    def _finish(
        self, job: CommandJob, folder: JobFolder, outcome: Outcome, resolved: dict[str, Any]
    ) -> str:
        if not outcome.canceled:
            self._advance(JobStatus.FINALIZING)
        collect_artifacts(self.services, self.workspace, folder, resolved["artifact_uri"])
        if outcome.canceled or is_stopping(self._status()):
            return self._end_canceled()
        if outcome.timed_out:
            timeout = job.limits.timeout if job.limits else None
            return self._fail(
                {"code": "JobTimeout", "message": f"the job ran past limits.timeout ({timeout} s)"},
                exit_code=outcome.exit_code,
            )
        if outcome.exit_code != 0:
            return self._fail(
                {
                    "code": "UserError",
                    "message": f"the command exited with code {outcome.exit_code}",
                    "log_tail": tail(folder.std_log),
                },
                exit_code=outcome.exit_code,
            )
        marked = self._marked_failed()
        if marked is not None:
            return self._fail(marked, exit_code=0)
        deliver_outputs(self.services, self.workspace, self.name, folder, resolved["outputs"])
        return self.jobs.set_status(self.workspace, self.name, JobStatus.COMPLETED, exit_code=0)

    def _marked_failed(self) -> dict[str, Any] | None:
        """The error a script recorded when it marked its own run failed (`run.fail()`), if
        it did: as on Azure ML, such a job ends Failed although its command exited 0."""
        tags = self.services.runs.tags(self.workspace, self.name)
        if tags.get(SCRIPT_FAILED_TAG) != "true":
            return None
        return {
            "code": tags.get(ERROR_CODE_TAG) or "UserError",
            "message": tags.get(ERROR_TAG) or "the script marked its run failed",
        }

    def _variables(self, job: CommandJob, tracking_uri: str) -> dict[str, str]:
        """What the script is told of its job, as Azure ML and MLflow name it."""
        experiment = job.experiment_name or "Default"
        return {
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MLFLOW_REGISTRY_URI": tracking_uri,  # else a submitter's own setting wins
            "MLFLOW_RUN_ID": self.name,
            "MLFLOW_EXPERIMENT_NAME": experiment,
            "AZUREML_RUN_ID": self.name,
            "AZUREML_EXPERIMENT_NAME": experiment,
            "AZUREML_ARM_WORKSPACE_NAME": self.workspace,
            "ORCHARD_JOB_NAME": self.name,
            "ORCHARD_WORKSPACE": self.workspace,
            "ORCHARD_HOME": str(self.services.context.home),
            "ORCHARD_DATABASE_URL": self.services.context.store.url,
            "PYTHONUNBUFFERED": "1",
            **job.environment_variables,
        }

    def _in_container(
        self,
        image: ContainerImage,
        command: str,
        folder: JobFolder,
        variables: dict[str, str],
    ) -> str:
        """The command as a `docker run`: the job's folder and its local inputs are mounted
        where they are on the host, so every bound path in the command holds inside."""
        inputs = [Path(p) for p in folder.inputs.values() if Path(p).is_absolute()]
        mounts = [(folder.root, False), *((p, True) for p in inputs if p.exists())]
        argv = image.run_argv(
            command,
            name=self._container_name(),
            workdir=folder.wd,
            mounts=mounts,
            variables=variables,
        )
        return shlex.join(argv)

    def _container_name(self) -> str:
        return f"orchard-job-{self.name}"

    def _watch(self) -> None:
        """Heart-beat, and stop the command when the store says the job was canceled."""
        ticks = 0
        while True:
            self._look.wait(WATCH_INTERVAL_SECONDS)
            self._look.clear()
            if self._done.is_set():
                return
            ticks += 1
            try:
                status = (
                    self.jobs.heartbeat(self.workspace, self.name)
                    if ticks % HEARTBEAT_EVERY == 0
                    else self._status()
                )
            except OrchardError:
                continue
            if is_stopping(status) and self._process is not None:
                self._process.cancel()

    def _end_canceled(self) -> str:
        return self.jobs.set_status(self.workspace, self.name, JobStatus.CANCELED)

    def _advance(self, status: str, **extra: Any) -> bool:
        return self.jobs.set_status(self.workspace, self.name, status, **extra) == status

    def _status(self) -> str:
        status: str = self.jobs.get(self.workspace, self.name).status or JobStatus.QUEUED
        return status

    def _fail(self, error: dict[str, Any], exit_code: int | None = None) -> str:
        return self.jobs.set_status(
            self.workspace, self.name, JobStatus.FAILED, error=error, exit_code=exit_code
        )


def _warn_of_services(job: CommandJob, folder: JobFolder) -> None:
    """A job's `services:` (jupyter, tensorboard, ssh, vscode) are Azure's interactive
    sessions into its node; none is provided here, and the job runs without them."""
    if not job.services:
        return
    with folder.std_log.open("a", encoding="utf-8") as log:
        for name, service in job.services.items():
            kind = service.get("type", name) if isinstance(service, dict) else name
            log.write(
                f"Warning: service {name!r} ({kind}) is not provided by Orchard's local "
                "compute; the job runs without it\n"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="orchard-runner")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args(argv)
    return run_job(Settings.discover(home=args.home, workspace=args.workspace), args.job)


def run_job(settings: Settings, job: str) -> int:
    """Run one job in this process; the exit code says whether it completed."""
    become_subreaper()
    services = Services.open(settings, migrate=False)
    try:
        found = services.jobs.get(settings.workspace, job)
        if isinstance(found, SweepJob):
            from orchard.agent.sweep import SweepRunner

            status = SweepRunner(services, settings.workspace, job, agent_id()).run()
        elif isinstance(found, PipelineJob):
            from orchard.agent.pipeline import PipelineRunner

            status = PipelineRunner(services, settings.workspace, job, agent_id()).run()
        else:
            runner = JobRunner(services, settings.workspace, job)
            with contextlib.suppress(ValueError):  # not the main thread: no signal handlers
                signal.signal(LOOK_NOW_SIGNAL, lambda *_: runner.look_now())
            status = runner.run()
    finally:
        services.close()
    return 0 if status == JobStatus.COMPLETED else 1


def _with_orchard_importable(env: dict[str, str], folder: JobFolder) -> dict[str, str]:
    # After what the job sets. Ahead of site-packages, but where the host has Orchard
    # installed the link is to that very package.
    given = env.get("PYTHONPATH", "")
    return env | {"PYTHONPATH": os.pathsep.join(p for p in (given, str(folder.python_path)) if p)}


if __name__ == "__main__":
    raise SystemExit(main())
