"""One firing of a schedule: when it was due, and the job it created."""

from __future__ import annotations

from datetime import datetime

from orchard.entities.base import Entity


class Firing(Entity):
    schedule: str
    fire_time: datetime
    job_name: str
    claimed_at: datetime | None = None  # when a scheduler recorded it
    # Why the job could not be submitted, when it could not (it is tried again next pass).
    error: str | None = None
