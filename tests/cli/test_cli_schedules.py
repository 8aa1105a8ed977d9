"""`orchard schedule ...` as a user types it: a schedule from YAML, its life cycle, and
`run-pending` firing what is due in embedded mode."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from conftest import Cli
from orchard.entities.loaders import load_schedule
from orchard.sdk.client import MLClient
from orchard.services import Services

SCHEDULE = {
    "$schema": "https://azuremlschemas.azureedge.net/latest/schedule.schema.json",
    "name": "nightly",
    "display_name": "Nightly retrain",
    "trigger": {
        "type": "cron",
        "expression": "0 3 * * *",
        "start_time": "2022-07-10T10:00:00",
        "time_zone": "Pacific Standard Time",
    },
    "create_job": "./job.yml",
}


def write_spec(folder: Path, **changes: object) -> Path:
    (folder / "job.yml").write_text(yaml.safe_dump({"command": "echo nightly run"}))
    path = folder / "schedule.yml"
    path.write_text(yaml.safe_dump({**SCHEDULE, **changes}))
    return path


def test_a_schedule_is_created_listed_shown_disabled_enabled_and_deleted(cli: Cli) -> None:
    spec = write_spec(cli.cwd)
    created = json.loads(cli.ok("schedule", "create", "-f", str(spec), "-o", "json").stdout)
    assert created["is_enabled"] is True
    assert created["trigger"]["time_zone"] == "Pacific Standard Time"
    assert created["create_job"]["command"] == "echo nightly run"
    assert "nightly" in cli.ok("schedule", "list").stdout
    shown = json.loads(cli.ok("schedule", "show", "-n", "nightly", "-o", "json").stdout)
    assert shown["firings"] == []
    updated = cli.ok(
        "schedule", "update", "-n", "nightly", "--set", "description=new description",
        "--set", "trigger.expression=30 2 * * *", "--no-wait", "-o", "json",
    ).stdout  # fmt: skip
    assert json.loads(updated)["description"] == "new description"
    assert json.loads(updated)["trigger"]["expression"] == "30 2 * * *"
    disabled = cli.ok("schedule", "disable", "-n", "nightly", "--no-wait", "-o", "json").stdout
    assert json.loads(disabled)["is_enabled"] is False
    enabled = cli.ok("schedule", "enable", "-n", "nightly", "-o", "json").stdout
    assert json.loads(enabled)["is_enabled"] is True
    assert "Nothing due." in cli.ok("schedule", "run-pending").stdout
    cli.ok("schedule", "delete", "-n", "nightly", "--yes")
    missing = cli("schedule", "show", "-n", "nightly")
    assert missing.code != 0 and "schedule 'nightly' not found" in missing.stderr


def test_a_bad_cron_expression_fails_create_and_names_the_file(cli: Cli) -> None:
    spec = write_spec(cli.cwd, trigger={"type": "cron", "expression": "0 3 * *"})
    refused = cli("schedule", "create", "-f", str(spec))
    assert refused.code != 0
    assert "schedule.yml" in refused.stderr and "is not a cron expression" in refused.stderr
    assert "nightly" not in cli.ok("schedule", "list").stdout


def test_run_pending_fires_what_is_due_and_the_job_runs(cli: Cli) -> None:
    client = MLClient(workspace_name=cli.workspace, home=cli.home, database_url=cli.database_url)
    services: Services = client._transport.services  # type: ignore[attr-defined]
    # Due once a day, five minutes ago; made ten minutes ago: one firing is due.
    due = datetime.now(UTC) - timedelta(minutes=5)
    daily = {"type": "cron", "expression": f"{due.minute} {due.hour} * * *"}
    made = due - timedelta(minutes=5)
    services.schedules.create_or_update(
        cli.workspace, load_schedule(write_spec(cli.cwd, trigger=daily)), now=made
    )
    try:
        fired = cli.ok("schedule", "run-pending").stdout
        assert fired.count("started nightly_") == 1, fired
        (firing,) = client.schedules.list_firings("nightly")
        log = io.StringIO()
        done = client.jobs.stream(firing.job_name, out=log)
        assert done.status == "Completed"
        assert "nightly run" in log.getvalue()
        assert "Nothing due." in cli.ok("schedule", "run-pending").stdout
    finally:
        client.close()
