"""Schedules: create, enable and disable them, and fire what is due.

`fire_due` is the scheduler's one step, run by the server's scheduler thread and by
`orchard schedule run-pending`: each due time of each enabled schedule is claimed as a
firing row (unique per schedule and time) and its job submitted under a name the row
fixes. Two schedulers never fire one time twice, and a firing claimed by a scheduler that
died before submitting is submitted by the next pass, so a restart loses none. A schedule
fires from its creation (or its last enable) on: a start_time in the past, or a time it was
disabled through, is not back-filled.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from orchard.entities.job_types import Job, job_of
from orchard.entities.schedule_firings import Firing
from orchard.entities.schedules import JobSchedule, overridden_job
from orchard.errors import NotFound, OrchardError, ValidationError
from orchard.services.context import Context
from orchard.services.jobs import JobService

KIND = "schedule"
_EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)\s*\}\}")
SCHEDULE_PROPERTY = "azureml.schedule"  # the schedule a job was fired by
FIRE_TIME_PROPERTY = "orchard.schedule.fire_time"
MAX_FIRINGS_PER_PASS = 50  # a long outage is caught up over several passes
RECHECKED_FIRINGS = 5  # the newest firings a pass makes sure have their job
CLAIM_GRACE_SECONDS = 30.0  # a claim this old with no job was left by a dead scheduler
# What a job records of one run, not of its recipe: a copy starts without them.
COPIED_JOB_FIELDS_LEFT_OUT = (
    "name", "id", "status", "creation_context", "error", "parent_job_name", "exit_code",
    "start_time", "end_time",
)  # fmt: skip


class ScheduleService:
    def __init__(self, context: Context, jobs: JobService) -> None:
        self.context = context
        self.jobs = jobs

    def create_or_update(
        self, workspace: str, schedule: JobSchedule, *, now: datetime | None = None
    ) -> JobSchedule:
        """Record the schedule once its job checks out; a new one fires from now on."""
        schedule = self._with_job_spec(workspace, schedule)
        self.jobs.check(workspace, self.job_of(schedule))
        moment = now or datetime.now(UTC)
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            existing = tx.resources.find(workspace_id, KIND, schedule.name)
            since = existing.active_since if isinstance(existing, JobSchedule) else None
            ready = _with_start(schedule, moment).model_copy(
                update={"active_since": since or moment, "provisioning_state": "Succeeded"}
            )
            if existing is None:
                stored = tx.resources.create(
                    workspace_id, KIND, ready, created_by=self.context.user
                )
            else:
                stored = tx.resources.replace(workspace_id, KIND, ready)
        assert isinstance(stored, JobSchedule)
        return stored

    def get(self, workspace: str, name: str) -> JobSchedule:
        with self.context.store.read() as tx:
            found = tx.resources.get(tx.workspaces.id_of(workspace), KIND, name)
        assert isinstance(found, JobSchedule)
        return found

    def delete(self, workspace: str, name: str) -> None:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.resources.delete(workspace_id, KIND, name)
            tx.schedule_firings.forget(workspace_id, name)

    def enable(self, workspace: str, name: str, *, now: datetime | None = None) -> JobSchedule:
        """Fire again from now on: the times it was disabled through are not fired."""
        return self._set_enabled(workspace, name, True, now or datetime.now(UTC))

    def disable(self, workspace: str, name: str) -> JobSchedule:
        return self._set_enabled(workspace, name, False, None)

    def _set_enabled(
        self, workspace: str, name: str, enabled: bool, now: datetime | None
    ) -> JobSchedule:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            current = tx.resources.get(workspace_id, KIND, name)
            assert isinstance(current, JobSchedule)
            if current.is_enabled == enabled:
                return current
            update: dict[str, object] = {"is_enabled": enabled}
            if now is not None:
                update["active_since"] = now
            stored = tx.resources.replace(workspace_id, KIND, current.model_copy(update=update))
        assert isinstance(stored, JobSchedule)
        return stored

    def firings(self, workspace: str, name: str, limit: int | None = None) -> list[Firing]:
        """The schedule's firings, newest first."""
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.resources.get(workspace_id, KIND, name)  # NotFound names an unknown schedule
            return tx.schedule_firings.list(workspace_id, name, limit)

    def fire_due(self, workspace: str, *, now: datetime | None = None) -> list[Firing]:
        """Fire every enabled schedule's due times up to `now`; the firings whose job this
        pass submitted, oldest first."""
        moment = now or datetime.now(UTC)
        fired: list[Firing] = []
        for schedule in self.list(workspace):
            if schedule.is_enabled:
                fired += self._fire(workspace, schedule, moment)
        return fired

    def _fire(self, workspace: str, schedule: JobSchedule, now: datetime) -> list[Firing]:
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            recent = tx.schedule_firings.list(workspace_id, schedule.name, RECHECKED_FIRINGS)
        # A firing claimed a while ago with no job: its scheduler died before submitting.
        # (A younger one may be being submitted right now by another scheduler.)
        stale = datetime.now(UTC) - timedelta(seconds=CLAIM_GRACE_SECONDS)
        orphans = [f for f in reversed(recent) if f.claimed_at is None or f.claimed_at < stale]
        fired = [f for old in orphans for f in self._submit_if_missing(workspace, schedule, old)]
        latest = recent[0].fire_time if recent else None  # newest first
        since = max(t for t in (schedule.active_since, latest) if t is not None)
        for due in islice(schedule.trigger.due_times(since, now), MAX_FIRINGS_PER_PASS):
            name = _job_name(workspace, schedule, due)
            firing = Firing(schedule=schedule.name, fire_time=due, job_name=name)
            with self.context.store.begin() as tx:
                claimed = tx.schedule_firings.claim(
                    tx.workspaces.id_of(workspace), schedule.name, due, firing.job_name
                )
            if claimed:
                fired += self._submit_if_missing(workspace, schedule, firing)
        return fired

    def _submit_if_missing(
        self, workspace: str, schedule: JobSchedule, firing: Firing
    ) -> list[Firing]:
        """[the firing] when this call submitted its job (or failed to, saying why)."""
        if self._exists(workspace, firing.job_name):
            return []
        try:
            job = self.job_of(schedule, firing)
            job.name = firing.job_name
            job.display_name = f"{schedule.name}-{firing.fire_time:%Y%m%d%H%M%S}"
            job.properties |= {
                SCHEDULE_PROPERTY: schedule.name,
                FIRE_TIME_PROPERTY: firing.fire_time.isoformat(),
            }
            self.jobs.submit(workspace, job)
        except OrchardError as error:
            if self._exists(workspace, firing.job_name):
                return []  # another scheduler submitted it first
            return [firing.model_copy(update={"error": error.message})]
        return [firing]

    def _exists(self, workspace: str, job: str) -> bool:
        try:
            self.jobs.get(workspace, job)
        except NotFound:
            return False
        return True

    def _with_job_spec(self, workspace: str, schedule: JobSchedule) -> JobSchedule:
        """`azureml:<job name>` (with overrides, or not) as a copy of that job's spec."""
        given = schedule.create_job
        reference = given if isinstance(given, str) else given.get("job")
        if not isinstance(reference, str):
            return schedule
        name = reference.removeprefix("azureml:")
        try:
            source = self.jobs.get(workspace, name)
        except NotFound:
            raise ValidationError(
                f"schedule {schedule.name!r}: create_job: no job named {name!r} to copy"
            ) from None
        spec = source.model_dump(mode="json", exclude_none=True, by_alias=True)
        for field in COPIED_JOB_FIELDS_LEFT_OUT:
            spec.pop(field, None)
        if isinstance(given, dict):
            spec = overridden_job(spec, {k: v for k, v in given.items() if k != "job"})
        return schedule.model_copy(update={"create_job": spec})

    @staticmethod
    def job_of(schedule: JobSchedule, firing: Firing | None = None) -> Job:
        """The job a firing submits; `${{name}}` and `${{creation_context.trigger_time}}`
        in its spec become the job's name and the firing's time, as on Azure."""
        assert isinstance(schedule.create_job, dict)  # references are resolved at create
        spec = dict(schedule.create_job)
        if firing is not None:
            spec = _expand(
                spec,
                {
                    "name": firing.job_name,
                    "creation_context.trigger_time": firing.fire_time.isoformat(),
                },
            )
        try:
            return job_of(spec)
        except PydanticValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise ValidationError(
                f"schedule {schedule.name!r}: create_job: {where}: {problem['msg']}"
            ) from None

    # Last: below it, `list` in an annotation would mean this method.
    def list(self, workspace: str) -> list[JobSchedule]:
        with self.context.store.read() as tx:
            found = tx.resources.list(tx.workspaces.id_of(workspace), KIND)
        return [s for s in found if isinstance(s, JobSchedule)]


def _expand(value: Any, expressions: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _EXPRESSION.sub(lambda m: expressions.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _expand(v, expressions) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, expressions) for v in value]
    return value


def _with_start(schedule: JobSchedule, now: datetime) -> JobSchedule:
    """A trigger without a start_time starts when the schedule is created, as on Azure."""
    if schedule.trigger.start_time is not None:
        return schedule
    trigger = schedule.trigger.model_copy(update={"start_time": now})
    return schedule.model_copy(update={"trigger": trigger})


def _job_name(workspace: str, schedule: JobSchedule, fire_time: datetime) -> str:
    """`<schedule>_<fire time>_<tag>`: job names are unique in the whole store, so the tag
    tells apart the schedules of that name in other workspaces, and one deleted and made
    again."""
    created = schedule.creation_context.created_at if schedule.creation_context else None
    tag = hashlib.sha256(f"{workspace}/{schedule.name}/{created}".encode()).hexdigest()[:6]
    return f"{schedule.name}_{fire_time.astimezone(UTC):%Y%m%d%H%M}_{tag}"
