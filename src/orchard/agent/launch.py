"""Starting runners for embedded workspaces, and noticing runners that died."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from orchard.entities.jobs import JobStatus
from orchard.services import Services
from orchard.services.jobs.states import is_terminal


def start_runner(services: Services, workspace: str, job: str) -> int:
    """A detached runner process for `job`; it outlives the command that submitted it."""
    root = services.context.home / "runs" / job
    root.mkdir(parents=True, exist_ok=True)
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
    return process.pid


def reap_dead_runners(services: Services, workspace: str, names: list[str]) -> None:
    """Mark Failed the unfinished jobs whose runner on this host no longer exists."""
    host = socket.gethostname()
    for name in names:
        agent = services.jobs.agent_of(workspace, name)
        if not agent or not agent.startswith(host + ":"):
            continue
        pid = int(agent.rsplit(":", 1)[1])
        if _alive(pid):
            continue
        job = services.jobs.get(workspace, name)
        if job.status == JobStatus.CANCEL_REQUESTED:
            services.jobs.set_status(workspace, name, JobStatus.CANCELED)
        elif job.status and not is_terminal(job.status):
            services.jobs.set_status(
                workspace,
                name,
                JobStatus.FAILED,
                error={
                    "code": "RunnerLost",
                    "message": f"the runner process {pid} on {host} died mid-job",
                },
            )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as dead.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))
