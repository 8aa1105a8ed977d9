"""`orchard server` fires schedules on its own: what fell due while it was down is fired
when it comes back, each time once, and the jobs run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchard.entities.jobs import CommandJob
from orchard.entities.schedules import CronTrigger, JobSchedule
from orchard.sdk.client import MLClient
from orchard.services import Services
from server_process import orchard_server

WAIT_SECONDS = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    pause, deadline = threading.Event(), time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.1)  # pacing between polls


def test_the_server_fires_what_fell_due_while_it_was_down_once(tmp_path: Path) -> None:
    home, url = tmp_path / ".orchard", f"sqlite:///{tmp_path / 'orchard.db'}"
    client = MLClient(workspace_name="team", home=home, database_url=url)
    services: Services = client._transport.services  # type: ignore[attr-defined]
    every_minute = JobSchedule(
        name="tick",
        trigger=CronTrigger(expression="* * * * *"),
        create_job=CommandJob(command="echo tick"),
    )
    # Made three minutes ago, while no scheduler ran: three firings are due.
    made = datetime.now(UTC) - timedelta(minutes=3)
    services.schedules.create_or_update("team", every_minute, now=made)
    env = {"ORCHARD_HOME": str(home), "ORCHARD_DATABASE_URL": url}

    def completed() -> list[str]:
        jobs = client.jobs.list()
        assert all(job.status != "Failed" for job in jobs), [job.error for job in jobs]
        return [job.name or "" for job in jobs if job.status == "Completed"]

    with orchard_server("--workspace", "team", env=env):
        wait_for(lambda: len(completed()) >= 3, "the three missed firings to run")
    # Another schedule with times due, so that the restarted server's first pass can be
    # seen to have run: it fires those, and looks at tick's again.
    tock = every_minute.model_copy(update={"name": "tock"})
    services.schedules.create_or_update("team", tock, now=datetime.now(UTC) - timedelta(minutes=2))
    with orchard_server("--workspace", "team", env=env):
        wait_for(lambda: len(client.schedules.list_firings("tock")) >= 2, "the restarted pass")
    firings = client.schedules.list_firings("tick")
    times = [f.fire_time for f in firings]
    assert len(times) == len(set(times)) >= 3  # none twice
    fired = [f.job_name for name in ("tick", "tock") for f in client.schedules.list_firings(name)]
    assert sorted(fired) == sorted(job.name or "" for job in client.jobs.list())
    assert min(times) > made
    client.close()
