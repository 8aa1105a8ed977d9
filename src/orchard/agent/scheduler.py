"""The server's scheduler: a thread that fires every workspace's due schedules.

Each pass is `ScheduleService.fire_due` (claims are unique rows, so a pass that overlaps
another scheduler's, or one restarted midway, fires nothing twice) and a runner started
for each job fired. A pass that fails is logged and the next one tries again.
"""

from __future__ import annotations

import logging
import threading

from orchard.agent.launch import start_runner
from orchard.entities.schedule_firings import Firing
from orchard.services import Services

PASS_SECONDS = 10.0
log = logging.getLogger("orchard.scheduler")


class Scheduler:
    def __init__(self, services: Services, *, every: float = PASS_SECONDS) -> None:
        self.services = services
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="orchard-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def run_once(self) -> list[Firing]:
        fired: list[Firing] = []
        for workspace in self.services.workspaces.list():
            for firing in self.services.schedules.fire_due(workspace.name):
                if firing.error is not None:
                    log.warning("schedule %s: %s", firing.schedule, firing.error)
                    continue
                start_runner(self.services, workspace.name, firing.job_name, spawn=True)
                log.info("schedule %s fired %s", firing.schedule, firing.job_name)
                fired.append(firing)
        return fired

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the next pass tries again; the server stays up
                log.exception("a scheduler pass failed")
            self._stop.wait(self.every)
