"""Schedules fire each due time once: not before they were created, not twice when two
schedulers run or one restarts, and not lost when a scheduler dies midway."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from orchard.entities.jobs import CommandJob
from orchard.entities.loaders import load_schedule
from orchard.entities.pipelines import PipelineJob
from orchard.entities.schedules import JobSchedule
from orchard.errors import SpecError, ValidationError
from orchard.sdk.client import MLClient
from orchard.services import Services
from orchard.services.schedules import SCHEDULE_PROPERTY
from orchard.store.schedule_firings import ScheduleFiringRow
from pipeline_helpers import write_project

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
HOURLY = {"type": "cron", "expression": "0 * * * *", "start_time": "2020-01-01T00:00:00"}


def services_of(ml_client: MLClient) -> Services:
    services: Services = ml_client._transport.services  # type: ignore[attr-defined]
    return services


def write_schedule(folder: Path, create_job: Any, trigger: dict[str, Any] = HOURLY) -> Path:
    (folder / "job.yml").write_text(yaml.safe_dump({"command": "echo tick", "inputs": {"n": 1}}))
    path = folder / "schedule.yml"
    body = {"name": "hourly", "trigger": trigger, "create_job": create_job}
    path.write_text(yaml.safe_dump(body))
    return path


def create(ml_client: MLClient, schedule: JobSchedule, now: datetime = T0) -> JobSchedule:
    return services_of(ml_client).schedules.create_or_update(
        ml_client.workspace_name, schedule, now=now
    )


def fire(ml_client: MLClient, now: datetime) -> list[str]:
    """The fire times (`%Y%m%d%H%M`) of the jobs a pass submitted."""
    fired = services_of(ml_client).schedules.fire_due(ml_client.workspace_name, now=now)
    assert all(f.error is None for f in fired), fired
    assert all(f.job_name.startswith(f"{f.schedule}_{f.fire_time:%Y%m%d%H%M}_") for f in fired)
    return [f"{f.fire_time:%Y%m%d%H%M}" for f in fired]


def job_at(ml_client: MLClient, fire_time: str) -> str:
    (firing,) = [
        f
        for f in ml_client.schedules.list_firings("hourly")
        if f"{f.fire_time:%Y%m%d%H%M}" == fire_time
    ]
    return firing.job_name


def test_a_start_time_in_the_past_does_not_back_fill(ml_client: MLClient, tmp_path: Path) -> None:
    create(ml_client, load_schedule(write_schedule(tmp_path, "./job.yml")))
    assert fire(ml_client, T0) == []
    assert fire(ml_client, T0 + timedelta(hours=2)) == ["202612071000", "202612071100"]
    assert fire(ml_client, T0 + timedelta(hours=2)) == []  # nothing twice
    job = ml_client.jobs.get(job_at(ml_client, "202612071000"))
    assert isinstance(job, CommandJob) and job.command == "echo tick"
    assert job.properties[SCHEDULE_PROPERTY] == "hourly"
    firings = ml_client.schedules.list_firings("hourly")
    assert [f"{f.fire_time:%H%M}" for f in firings] == ["1100", "1000"]  # newest first


def test_a_restarted_scheduler_fires_what_it_missed_once(
    ml_client: MLClient, tmp_path: Path, database_url: str, orchard_home: Path
) -> None:
    create(ml_client, load_schedule(write_schedule(tmp_path, "./job.yml")))
    assert fire(ml_client, T0 + timedelta(hours=1)) == ["202612071000"]
    ml_client.close()  # the server stops; three hours pass
    again = MLClient(
        workspace_name=ml_client.workspace_name, home=orchard_home, database_url=database_url
    )
    try:
        assert fire(again, T0 + timedelta(hours=3, minutes=1)) == [
            "202612071100",
            "202612071200",
        ]
        assert len(again.jobs.list()) == 3
    finally:
        again.close()


def test_two_schedulers_at_once_fire_each_time_once(
    ml_client: MLClient, tmp_path: Path, database_url: str, orchard_home: Path
) -> None:
    create(ml_client, load_schedule(write_schedule(tmp_path, "./job.yml")))
    other = MLClient(
        workspace_name=ml_client.workspace_name, home=orchard_home, database_url=database_url
    )
    results: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def run(name: str, client: MLClient) -> None:
        start.wait()
        results[name] = fire(client, T0 + timedelta(hours=6))

    try:
        threads = [
            threading.Thread(target=run, args=(name, client))
            for name, client in (("one", ml_client), ("two", other))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    fired = results["one"] + results["two"]
    assert sorted(fired) == [f"202612071{h}00" for h in range(6)]  # 10:00 .. 15:00
    assert len(ml_client.jobs.list()) == 6


def test_a_firing_claimed_by_a_scheduler_that_died_is_submitted_next_pass(
    ml_client: MLClient, tmp_path: Path
) -> None:
    create(ml_client, load_schedule(write_schedule(tmp_path, "./job.yml")))
    store = services_of(ml_client).context.store
    with store.begin() as tx:  # claimed, then the process died before submitting
        workspace_id = tx.workspaces.id_of(ml_client.workspace_name)
        due = T0 + timedelta(minutes=30)
        assert tx.schedule_firings.claim(workspace_id, "hourly", due, "hourly_after_a_crash")
    pass_now = T0 + timedelta(minutes=31)
    fresh = services_of(ml_client).schedules.fire_due(ml_client.workspace_name, now=pass_now)
    assert fresh == []  # a fresh claim may be another scheduler's, submitting as we look
    with store.begin() as tx:
        (row,) = tx.session.scalars(
            select(ScheduleFiringRow).where(ScheduleFiringRow.workspace_id == workspace_id)
        )
        row.created_at = datetime.now(UTC) - timedelta(minutes=1)
    fired = services_of(ml_client).schedules.fire_due(ml_client.workspace_name, now=pass_now)
    assert [f.job_name for f in fired] == ["hourly_after_a_crash"]
    assert ml_client.jobs.get("hourly_after_a_crash").status == "Queued"
    assert fire(ml_client, T0 + timedelta(minutes=32)) == []


def test_a_disabled_schedule_does_not_fire_and_enabling_it_does_not_back_fill(
    ml_client: MLClient, tmp_path: Path
) -> None:
    create(ml_client, load_schedule(write_schedule(tmp_path, "./job.yml")))
    schedules = services_of(ml_client).schedules
    assert not schedules.disable(ml_client.workspace_name, "hourly").is_enabled
    assert fire(ml_client, T0 + timedelta(hours=3)) == []
    enabled = schedules.enable(ml_client.workspace_name, "hourly", now=T0 + timedelta(hours=4))
    assert enabled.is_enabled
    assert fire(ml_client, T0 + timedelta(hours=5)) == ["202612071400"]


def test_create_job_copies_a_workspace_job_with_overrides(
    ml_client: MLClient, tmp_path: Path
) -> None:
    source = ml_client.jobs.create_or_update(
        CommandJob(command="echo ${{inputs.n}}", inputs={"n": 1}, experiment_name="nightly")
    )
    ml_client.jobs.stream(source.name or "")
    create_job = {"job": f"azureml:{source.name}", "inputs": {"n": 7}, "tags": {"run": "sched"}}
    create(ml_client, load_schedule(write_schedule(tmp_path, create_job)))
    (fire_time,) = fire(ml_client, T0 + timedelta(hours=1))
    job = ml_client.jobs.get(job_at(ml_client, fire_time))
    assert isinstance(job, CommandJob)
    assert (job.command, job.inputs["n"], job.experiment_name) == (
        "echo ${{inputs.n}}",
        7,
        "nightly",
    )
    assert job.tags["run"] == "sched"
    assert job.status == "Queued"


def test_a_pipeline_file_with_overridden_settings_is_the_job(
    ml_client: MLClient, tmp_path: Path
) -> None:
    write_project(tmp_path)  # pipeline.yml: make -> tally
    create_job = {"type": "pipeline", "job": "./pipeline.yml", "inputs": {"count": 9}}
    # Made now (through the SDK, which uploads the steps' code), due once two minutes on.
    soon = datetime.now(UTC) + timedelta(minutes=2)
    trigger = {"type": "cron", "expression": f"{soon.minute} * * * *"}
    schedule = load_schedule(write_schedule(tmp_path, create_job, trigger))
    created = ml_client.schedules.begin_create_or_update(schedule).result()
    assert isinstance(created.create_job, dict)
    (fire_time,) = fire(ml_client, soon + timedelta(minutes=1))
    job = ml_client.jobs.get(job_at(ml_client, fire_time))
    assert isinstance(job, PipelineJob)
    assert job.inputs["count"] == 9 and job.inputs["scale"] == 2.0
    assert set(job.jobs) == {"make", "tally"}


@pytest.mark.parametrize(
    ("create_job", "problem"),
    [
        ("azureml:no-such-job", "no job named 'no-such-job' to copy"),
        ({"command": "echo", "environment": "azureml:nope:1"}, "environment 'azureml:nope:1'"),
    ],
)
def test_a_schedule_whose_job_does_not_check_out_is_refused(
    ml_client: MLClient, tmp_path: Path, create_job: Any, problem: str
) -> None:
    schedule = load_schedule(write_schedule(tmp_path, create_job))
    with pytest.raises(ValidationError, match=problem):
        ml_client.schedules.begin_create_or_update(schedule)
    assert ml_client.schedules.list() == []


def test_a_bad_cron_expression_is_named_with_its_file(tmp_path: Path) -> None:
    path = write_schedule(tmp_path, "./job.yml", {"type": "cron", "expression": "every hour"})
    with pytest.raises(SpecError, match=r"schedule\.yml.*trigger.*'every hour' is not a cron"):
        load_schedule(path)


def test_a_fired_job_knows_its_name_and_trigger_time_and_shows_its_schedule(
    ml_client: MLClient, tmp_path: Path
) -> None:
    create_job = {
        "command": "echo ${{inputs.who}} at ${{inputs.when}}",
        "inputs": {"who": "${{name}}", "when": "${{creation_context.trigger_time}}"},
    }
    create(ml_client, load_schedule(write_schedule(tmp_path, create_job)))
    (fire_time,) = fire(ml_client, T0 + timedelta(hours=1))
    job = ml_client.jobs.get(job_at(ml_client, fire_time))
    assert job.inputs == {"who": job.name, "when": "2026-12-07T10:00:00+00:00"}
    assert job.display_name == "hourly-20261207100000"
