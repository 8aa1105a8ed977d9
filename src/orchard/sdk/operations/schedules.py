"""`ml_client.schedules`: create, enable, disable and delete schedules; fire what is due.

In embedded mode nothing fires on its own: `trigger_pending()` (what `orchard schedule
run-pending` calls, from cron or a loop) fires every due time and starts each job's
runner. A team server's scheduler does the same on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from orchard.entities.job_types import job_of
from orchard.entities.schedule_firings import Firing
from orchard.entities.schedules import JobSchedule
from orchard.sdk.operations.resources import Poller
from orchard.sdk.transport import Transport
from orchard.sdk.uploads import upload_job, uploader


class ScheduleOperations:
    def __init__(self, transport: Transport, workspace: Callable[[], str]) -> None:
        self._transport = transport
        self._workspace = workspace
        self._upload = uploader(transport, workspace)

    def begin_create_or_update(self, schedule: JobSchedule, **_: object) -> Poller[JobSchedule]:
        """Record the schedule, its job's local code and inputs uploaded once, now."""
        prepared = schedule
        if isinstance(schedule.create_job, dict):
            job = job_of(dict(schedule.create_job))
            upload_job(self._upload, job)
            spec = job.model_dump(mode="json", exclude_none=True, by_alias=True)
            prepared = schedule.model_copy(update={"create_job": spec})
        return Poller(self._transport.schedules.create_or_update(self._workspace(), prepared))

    def create_or_update(self, schedule: JobSchedule) -> JobSchedule:
        return self.begin_create_or_update(schedule).result()

    def get(self, name: str) -> JobSchedule:
        return self._transport.schedules.get(self._workspace(), name)

    def begin_enable(self, name: str) -> Poller[JobSchedule]:
        return Poller(self._transport.schedules.enable(self._workspace(), name))

    def begin_disable(self, name: str) -> Poller[JobSchedule]:
        return Poller(self._transport.schedules.disable(self._workspace(), name))

    def begin_delete(self, name: str) -> Poller[None]:
        self._transport.schedules.delete(self._workspace(), name)
        return Poller(None)

    def list_firings(self, name: str, *, max_results: int | None = None) -> list[Firing]:
        """When the schedule fired and the job each firing created, newest first."""
        return self._transport.schedules.firings(self._workspace(), name, max_results)

    def trigger_pending(self, *, now: datetime | None = None) -> list[Firing]:
        """Fire every enabled schedule's due times and start the jobs; the new firings."""
        workspace = self._workspace()
        fired = self._transport.schedules.fire_due(workspace, now=now)
        for firing in fired:
            if firing.error is None:
                self._transport.launch(workspace, firing.job_name)
        return fired

    # Last: below it, `list` in an annotation would mean this method.
    def list(self) -> list[JobSchedule]:
        return self._transport.schedules.list(self._workspace())
