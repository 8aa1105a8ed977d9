"""Child runner processes of a sweep or pipeline runner."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable


class ChildProcesses:
    """Runners forked from this process (a sweep's trials, a pipeline's steps), and
    waiting for any of them to exit: a pidfd each, so an exit is seen the moment it
    happens, with no polling of the store."""

    def __init__(self, start: Callable[[str], int]) -> None:
        self._start = start
        self._handles: dict[int, int] = {}  # pidfd -> pid

    def start(self, job: str) -> int:
        pid = self._start(job)
        self._handles[os.pidfd_open(pid)] = pid
        return pid

    def wait(self, timeout: float) -> set[int]:
        """The trial processes that exited: waits for one, or `timeout` seconds."""
        if not self._handles:
            time.sleep(timeout)  # nothing to wait on but the clock
            return set()
        ready, _, _ = select.select(list(self._handles), [], [], timeout)
        exited = set()
        for handle in ready:
            pid = self._handles.pop(handle)
            os.waitpid(pid, 0)
            os.close(handle)
            exited.add(pid)
        return exited

    def running(self) -> int:
        return len(self._handles)
