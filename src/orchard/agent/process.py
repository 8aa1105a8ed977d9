"""Running the user's command: its own process group, logs to a file, timeout, cancel."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

GRACE_SECONDS = 10.0
GROUP_POLL_SECONDS = 0.05
PR_SET_CHILD_SUBREAPER = 36
TAIL_LINES = 20


@dataclass
class Outcome:
    exit_code: int
    timed_out: bool
    canceled: bool


class CommandProcess:
    """One shell command; stdout and stderr go, merged as on Azure ML, to one log file."""

    def __init__(self, command: str, *, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.command, self.cwd, self.env, self.log = command, cwd, env, log
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._canceled = False

    def run(self, timeout: float | None) -> Outcome:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab", buffering=0) as sink:
            self._process = subprocess.Popen(
                ["/bin/bash", "-c", self.command],
                cwd=self.cwd,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, so we can stop all of it
            )
            try:
                code = self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.stop()
                return Outcome(self._process.wait(), timed_out=True, canceled=False)
            # Background processes the command left behind end with the job, as on Azure ML.
            _stop_group(self._process.pid)
            return Outcome(code, timed_out=False, canceled=self._canceled)

    def cancel(self) -> None:
        self._canceled = True
        self.stop()

    def stop(self) -> None:
        """Stop the whole process group; `run` returns once its leader has exited."""
        if self._process is not None:
            _stop_group(self._process.pid)


def become_subreaper() -> None:
    """Adopt the command's orphaned grandchildren so they can be reaped, not left as zombies.

    Without this an orphan goes to PID 1, which in a container often reaps nothing, and
    the job's process group would never be seen to end.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _stop_group(group: int) -> None:
    """SIGTERM every process in the group, then SIGKILL what is left after a grace period."""
    if not _group_alive(group):
        return
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while _group_alive(group) and time.monotonic() < deadline:
        time.sleep(GROUP_POLL_SECONDS)  # a process group has no handle to wait on
    _signal_group(group, signal.SIGKILL)
    while _group_alive(group) and time.monotonic() < deadline + GRACE_SECONDS:
        time.sleep(GROUP_POLL_SECONDS)


def _group_alive(group: int) -> bool:
    _reap_orphans()
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap_orphans() -> None:
    """Collect exited children that no Popen waits for (adopted as subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last lines of a log, for a failed job's error message."""
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
