"""Starting runners for embedded workspaces, and noticing runners that died."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import traceback
from pathlib import Path

from orchard.config import Settings
from orchard.entities.jobs import JobStatus
from orchard.runtime.processes import alive
from orchard.services import Services
from orchard.services.jobs.states import is_terminal

# Sent by a process that just asked for a job's cancel (a sweep stopping a trial early) so
# the job's runner looks at the store now instead of at its next tick.
LOOK_NOW_SIGNAL = signal.SIGUSR1
RUNNER_PID = "runner.pid"


def start_runner(services: Services, workspace: str, job: str, *, spawn: bool = False) -> None:
    """A detached runner process for `job`; it outlives the command that submitted it.

    Forked where the OS allows: the runner then starts with Orchard already imported,
    which is most of a fresh interpreter's start-up (about a second). Set
    ORCHARD_RUNNER_SPAWN=1, or pass `spawn` (a threaded server must not fork), to start a
    fresh interpreter instead.
    """
    root = services.context.home / "runs" / job
    root.mkdir(parents=True, exist_ok=True)
    forking = not spawn and os.environ.get("ORCHARD_RUNNER_SPAWN") != "1"
    if hasattr(os, "fork") and forking:
        _fork_runner(services, workspace, job, root)
    else:
        _spawn_runner(services, workspace, job, root)


def _fork_runner(services: Services, workspace: str, job: str, root: Path) -> None:
    settings = Settings(
        home=services.context.home, database_url=services.context.store.url, workspace=workspace
    )
    middle = os.fork()
    if middle:
        os.waitpid(middle, 0)  # the middle process exits at once; the runner is orphaned
        return
    code = 1
    try:
        os.setsid()  # out of the submitter's session: a Ctrl-C there does not reach it
        runner = os.fork()
        if runner:
            _record_pid(root, runner)
            code = 0
        else:
            code = _run_forked(services, settings, job, root)
    finally:
        os._exit(code)  # never return into the submitter's code, nor run its atexit hooks


def fork_attached_runner(services: Services, workspace: str, job: str) -> int:
    """A runner for `job` as a direct child of this process (a sweep's trial): its parent
    learns the moment it exits (`os.pidfd_open`), with no polling of the store."""
    root = services.context.home / "runs" / job
    root.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        home=services.context.home, database_url=services.context.store.url, workspace=workspace
    )
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        # Until the runner handles it, a "look now" signal must not end the process.
        signal.signal(LOOK_NOW_SIGNAL, signal.SIG_IGN)
        code = _run_forked(services, settings, job, root)
    finally:
        os._exit(code)


def _run_forked(services: Services, settings: Settings, job: str, root: Path) -> int:
    # The submitter's pooled connections stay referenced by `services`, unused, until
    # os._exit: closing them here would end the submitter's PostgreSQL sessions and drop
    # this process's SQLite locks on the database file.
    with (root / "runner.log").open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    with open(os.devnull, "rb") as null:
        os.dup2(null.fileno(), 0)
    os.chdir(root)
    try:
        from orchard.agent.runner import run_job

        return run_job(settings, job)
    except BaseException:
        traceback.print_exc()  # into runner.log; the job is reaped as Failed
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _spawn_runner(services: Services, workspace: str, job: str, root: Path) -> None:
    env = {
        **os.environ,
        "ORCHARD_HOME": str(services.context.home),
        "ORCHARD_DATABASE_URL": services.context.store.url,
    }
    with (root / "runner.log").open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchard.agent.runner",
                "--workspace",
                workspace,
                "--job",
                job,
                "--home",
                str(services.context.home),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=root,
        )
    _record_pid(root, process.pid)


def _record_pid(root: Path, pid: int) -> None:
    """Before the runner claims its job (and records itself as its agent), this is how a
    runner that died at once is told from one not started yet."""
    (root / RUNNER_PID).write_text(str(pid), encoding="utf-8")


def reap_dead_runners(services: Services, workspace: str, names: list[str]) -> None:
    """Mark Failed the unfinished jobs whose runner on this host no longer exists."""
    host = socket.gethostname()
    for name in names:
        agent = services.jobs.agent_of(workspace, name)
        if not agent:
            _reap_unclaimed(services, workspace, name)
            continue
        if not agent.startswith(host + ":"):
            continue
        pid = int(agent.rsplit(":", 1)[1])
        if alive(pid):
            continue
        job = services.jobs.get(workspace, name)
        if job.status == JobStatus.CANCEL_REQUESTED:
            services.jobs.set_status(workspace, name, JobStatus.CANCELED)
        elif job.status and not is_terminal(job.status):
            _lost(services, workspace, name, f"the runner process {pid} on {host} died mid-job")


def _reap_unclaimed(services: Services, workspace: str, name: str) -> None:
    """A queued job whose runner, started here, exited before it claimed the job."""
    record = services.context.home / "runs" / name / RUNNER_PID
    try:
        pid = int(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # not started from this machine, or not yet
    if alive(pid) or services.jobs.agent_of(workspace, name):
        return  # still starting, or it claimed the job meanwhile
    status = services.jobs.get(workspace, name).status
    if status == JobStatus.QUEUED:
        log = services.context.home / "runs" / name / "runner.log"
        _lost(
            services,
            workspace,
            name,
            f"the runner process {pid} exited before it started the job (see {log})",
        )


def _lost(services: Services, workspace: str, name: str, message: str) -> None:
    error = {"code": "RunnerLost", "message": message}
    services.jobs.set_status(workspace, name, JobStatus.FAILED, error=error)
