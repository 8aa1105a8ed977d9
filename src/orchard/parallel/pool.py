"""The driver's side of the worker processes: start, hand out work, wait, kill, replace.

Workers are started with the "spawn" method, so each is a fresh interpreter that shares
nothing with the driver but what it is sent. Each worker has one Pipe; the driver waits
on every pipe and every process sentinel at once, so a reply, a crash and a timeout are
all noticed without polling.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Union

from orchard.parallel.protocol import Message, Task, WorkerConfig
from orchard.parallel.worker import serve


@dataclass(frozen=True)
class Busy:
    index: int
    started: float
    deadline: float


@dataclass(frozen=True)
class Exited:
    """The worker process ended without being asked to."""

    code: int | None


Event = Union[Message, Exited]


class WorkerHandle:
    def __init__(self, slot: int, process: BaseProcess, conn: Connection) -> None:
        self.slot, self.process, self.conn = slot, process, conn
        self.ready = False
        self.busy: Busy | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


class Pool:
    def __init__(self, configure: Callable[[int], WorkerConfig], size: int) -> None:
        self._configure = configure
        self._context = multiprocessing.get_context("spawn")
        self.size = size
        self.workers: dict[int, WorkerHandle] = {}

    def __iter__(self) -> Iterator[WorkerHandle]:
        return iter(list(self.workers.values()))

    def start(self) -> None:
        for slot in range(self.size):
            self._start(slot)

    def _start(self, slot: int) -> WorkerHandle:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(self._configure(slot), theirs), name=f"process{slot:03d}"
        )
        process.start()
        theirs.close()  # else a dead worker's pipe would never read as closed
        self.workers[slot] = WorkerHandle(slot, process, ours)
        return self.workers[slot]

    def replace(self, worker: WorkerHandle) -> WorkerHandle:
        """Kill the worker (if it still runs) and start a fresh one in its slot."""
        worker.kill()
        return self._start(worker.slot)

    def forget(self, worker: WorkerHandle) -> None:
        worker.kill()
        self.workers.pop(worker.slot, None)

    def send(self, worker: WorkerHandle, task: Task, timeout: float) -> None:
        now = time.monotonic()
        worker.busy = Busy(task.index, now, now + timeout)
        # A worker that died meanwhile shows as Exited on the next wait; the task with it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            worker.conn.send(task)

    def wait(self, timeout: float | None) -> list[tuple[WorkerHandle, Event]]:
        """What the workers said or did, waiting up to `timeout` seconds for anything."""
        by_object: dict[Any, WorkerHandle] = {}
        for worker in self.workers.values():
            by_object[worker.conn] = worker
            by_object[worker.process.sentinel] = worker
        events: list[tuple[WorkerHandle, Event]] = []
        seen: set[int] = set()
        for ready in wait(list(by_object), timeout):
            worker = by_object[ready]
            if worker.slot in seen:
                continue
            seen.add(worker.slot)
            events.extend((worker, event) for event in self._drain(worker))
        return events

    def _drain(self, worker: WorkerHandle) -> list[Event]:
        events: list[Event] = []
        try:
            while worker.conn.poll():
                events.append(worker.conn.recv())
        except (EOFError, ConnectionResetError):
            pass
        else:
            if worker.process.is_alive():
                return events
        worker.process.join()
        events.append(Exited(worker.process.exitcode))
        self.workers.pop(worker.slot, None)
        return events

    def close(self, grace: float) -> None:
        """Ask every worker to call shutdown() and exit; kill those still there after
        `grace` seconds."""
        for worker in self.workers.values():
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + grace
        for worker in self.workers.values():
            worker.process.join(max(0.0, deadline - time.monotonic()))
        self.kill_all()

    def kill_all(self) -> None:
        for worker in list(self.workers.values()):
            worker.kill()
        self.workers.clear()
