"""What a sweep's and a pipeline's runner share: a job whose work is child jobs, forked
from this process, with its own std_log, heartbeat and way to end."""

from __future__ import annotations

import time
from traceback import format_exc
from typing import Any, TextIO

from orchard.agent.children import ChildProcesses
from orchard.agent.launch import fork_attached_runner
from orchard.agent.workdir import JobFolder, job_root
from orchard.entities.jobs import JobStatus
from orchard.errors import OrchardError
from orchard.services import Services

CANCEL_CHECK_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0


class ParentRunner:
    """Runs `_loop` between Running and the end; on an error, `_abort` stops the children
    before the job is failed, so none outlives it."""

    what = "job"

    def __init__(self, services: Services, workspace: str, name: str, agent: str) -> None:
        self.services, self.workspace, self.name, self.agent = services, workspace, name, agent
        self.jobs = services.jobs
        self.processes = ChildProcesses(
            lambda child: fork_attached_runner(services, workspace, child)
        )
        self._heartbeat = 0.0

    def run(self) -> str:
        if not self._advance(JobStatus.PREPARING, agent_id=self.agent):
            return self._status()
        if not self._advance(JobStatus.RUNNING):
            return self._end(JobStatus.CANCELED)
        folder = JobFolder(root=job_root(self.services, self.name))
        folder.std_log.parent.mkdir(parents=True, exist_ok=True)
        with folder.std_log.open("a", encoding="utf-8", buffering=1) as log:
            try:
                return self._loop(log)
            except OrchardError as error:
                self._abort(log, f"the {self.what} failed: {error.message}")
                return self._end(JobStatus.FAILED, {"code": error.code, "message": error.message})
            except Exception as error:  # a bug in Orchard: the job must not stay Running
                self._abort(log, f"the {self.what} failed: {error!r}")
                body = {"code": "InternalError", "message": repr(error), "traceback": format_exc()}
                return self._end(JobStatus.FAILED, body)

    def _loop(self, log: TextIO) -> str:
        raise NotImplementedError

    def _abort(self, log: TextIO, why: str) -> None:
        raise NotImplementedError

    def _beat(self) -> str:
        now = time.monotonic()
        if now - self._heartbeat >= HEARTBEAT_SECONDS:
            self._heartbeat = now
            return self.jobs.heartbeat(self.workspace, self.name)
        return self._status()

    def _status(self) -> str:
        return self.jobs.get(self.workspace, self.name).status or JobStatus.QUEUED

    def _advance(self, status: str, **extra: Any) -> bool:
        return self.jobs.set_status(self.workspace, self.name, status, **extra) == status

    def _end(self, status: str, error: dict[str, Any] | None = None) -> str:
        return self.jobs.set_status(self.workspace, self.name, status, error=error)
