"""Running every mini-batch: hand them out, retry the failed and timed out, count, stop.

A mini-batch that raises, runs past the timeout (its worker is killed and replaced) or
loses its worker is tried again up to `max_retries` times, then counted as failed. The
run stops when failed mini-batches pass `mini_batch_error_threshold`, or failed items
(the items of failed mini-batches, and those a run() returned no result for) pass
`error_threshold`; -1 disables either. A worker whose init() fails fails the run.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

from orchard.parallel.batches import Batches
from orchard.parallel.pool import Event, Exited, Pool, WorkerHandle
from orchard.parallel.protocol import Done, Failed, InitFailed, Ready, Task
from orchard.parallel.results import RowWriter

log = logging.getLogger("orchard.parallel")


class RunFailed(Exception):
    """The run cannot go on: a one-line reason, and what led to it (a traceback) if any."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.detail = detail


@dataclass(frozen=True)
class Limits:
    max_retries: int = 3
    timeout: float = 60.0
    mini_batch_error_threshold: int = -1
    error_threshold: int = -1


@dataclass
class Progress:
    total: int
    done: int = 0
    failed: int = 0
    retried: int = 0
    failed_items: int = 0
    errors: list[str] = field(default_factory=list)  # one line per failed mini-batch

    def line(self) -> str:
        left = self.total - self.done - self.failed
        return (
            f"mini-batches: {self.total} total, {self.done} done, {self.failed} failed, "
            f"{self.retried} retried, {left} left"
        )


class Engine:
    def __init__(
        self, batches: Batches, pool: Pool, limits: Limits, writer: RowWriter | None
    ) -> None:
        self.batches, self.pool, self.limits, self.writer = batches, pool, limits, writer
        self.progress = Progress(total=len(batches))
        self._pending: deque[int] = deque(range(len(batches)))
        self._attempts = [0] * len(batches)

    def run(self) -> Progress:
        """Every mini-batch done or failed for good; raises RunFailed to stop early."""
        self.pool.start()
        while self._pending or any(w.busy for w in self.pool):
            self._hand_out()
            for worker, event in self.pool.wait(self._until_next_deadline()):
                self._on_event(worker, event)
            self._expire(time.monotonic())
        return self.progress

    def _hand_out(self) -> None:
        for worker in self.pool:
            if not self._pending:
                return
            if worker.ready and worker.busy is None:
                index = self._pending.popleft()
                batch = self.batches.describe(index)
                log.debug("mini-batch %d started on process%03d", index, worker.slot)
                task = Task(index, self.batches.payload(index), batch.partition_key_value)
                self.pool.send(worker, task, self.limits.timeout)

    def _until_next_deadline(self) -> float | None:
        deadlines = [w.busy.deadline for w in self.pool if w.busy]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _on_event(self, worker: WorkerHandle, event: Event) -> None:
        if isinstance(event, Ready):
            worker.ready = True
            log.debug("process%03d ready (pid %d)", worker.slot, event.pid)
        elif isinstance(event, InitFailed):
            last = event.traceback.strip().splitlines()[-1]
            raise RunFailed(
                f"init() of the entry script failed in process{worker.slot:03d}: {last}",
                event.traceback,
            )
        elif isinstance(event, Done):
            worker.busy = None
            self._succeeded(event)
        elif isinstance(event, Failed):
            worker.busy = None
            self._attempt_failed(event.index, event.error)
        elif isinstance(event, Exited):
            self._exited(worker, event)

    def _exited(self, worker: WorkerHandle, event: Exited) -> None:
        if not worker.ready:
            raise RunFailed(
                f"process{worker.slot:03d} exited with code {event.code} before its "
                "init() returned; see its log under logs/user/stderr"
            )
        busy, worker.busy = worker.busy, None
        if busy is not None:
            self._attempt_failed(busy.index, f"its worker exited with code {event.code}")
        if self._pending:
            self.pool.replace(worker)

    def _expire(self, now: float) -> None:
        for worker in self.pool:
            busy = worker.busy
            if busy is not None and now >= busy.deadline:
                log.warning(
                    "mini-batch %d timed out after %gs; killing process%03d (pid %s)",
                    busy.index,
                    self.limits.timeout,
                    worker.slot,
                    worker.pid,
                )
                worker.busy = None
                self.pool.replace(worker)
                self._attempt_failed(busy.index, f"timed out after {self.limits.timeout:g}s")

    def _succeeded(self, event: Done) -> None:
        items = self.batches.describe(event.index).items
        if self.writer is not None:
            self.writer.add(event.index, event.lines or [])
        self.progress.done += 1
        if event.count is not None and event.count < items:
            # Azure's rule: an item with no result in what run() returned counts as failed.
            self.progress.failed_items += items - event.count
        log.info("mini-batch %d done; %s", event.index, self.progress.line())
        self._check_thresholds()

    def _attempt_failed(self, index: int, error: str) -> None:
        self._attempts[index] += 1
        attempt = self._attempts[index]
        if attempt <= self.limits.max_retries:
            self.progress.retried += 1
            self._pending.appendleft(index)
            log.warning(
                "mini-batch %d failed (attempt %d of %d), retrying: %s",
                index,
                attempt,
                self.limits.max_retries + 1,
                error,
            )
            return
        self.progress.failed += 1
        self.progress.failed_items += self.batches.describe(index).items
        self.progress.errors.append(f"mini-batch {index}: {error}")
        if self.writer is not None:
            self.writer.skip(index)
        log.warning(
            "mini-batch %d failed after %d attempts: %s; %s",
            index,
            attempt,
            error,
            self.progress.line(),
        )
        self._check_thresholds()

    def _check_thresholds(self) -> None:
        p, limits = self.progress, self.limits
        if -1 < limits.mini_batch_error_threshold < p.failed:
            raise RunFailed(
                f"{_count(p.failed, 'mini-batch')} failed, more than mini_batch_error_threshold "
                f"{limits.mini_batch_error_threshold}; first: {p.errors[0]}"
            )
        if -1 < limits.error_threshold < p.failed_items:
            first = f"; first: {p.errors[0]}" if p.errors else ""
            raise RunFailed(
                f"{_count(p.failed_items, 'item')} failed, more than error_threshold "
                f"{limits.error_threshold}{first}"
            )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}es" if noun.endswith("h") else f"{n} {noun}s"
