"""`orchard schedule ...`: jobs on a cron or recurrence trigger, as `az ml schedule` does.

In embedded mode nothing runs in the background: `orchard schedule run-pending` fires what
is due (run it from cron, or with `--watch` in a terminal); `orchard server` fires
schedules on its own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from orchard.cli import common
from orchard.cli.output import OutputFormat, as_dict, console, errors, show, show_list
from orchard.entities.loaders import load_schedule
from orchard.entities.schedule_firings import Firing
from orchard.entities.schedules import JobSchedule

SCHEDULE_COLUMNS = ["name", "is_enabled", "trigger.type", "trigger.expression", "display_name"]
FIRING_COLUMNS = ["fire_time", "job_name", "error"]

schedule_app = typer.Typer(help="Schedules: a pipeline or command job on a trigger.")


@schedule_app.command("create")
def schedule_create(
    file: common.File = None,
    name: common.Name = None,
    set_: common.Set = None,
    strict: common.Strict = False,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Create or update a schedule from a schedule spec (-f)."""
    schedule = common.load_spec(load_schedule, file, {"name": name}, set_, strict)
    show(common.client(workspace).schedules.begin_create_or_update(schedule).result(), output)


@schedule_app.command("update")
def schedule_update(
    name: common.RequiredName,
    set_: common.Set = None,
    strict: common.Strict = False,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Change fields of a schedule: `--set description="..."`, `--set trigger.expression=...`."""
    client = common.client(workspace)
    current = as_dict(client.schedules.get(name))
    schedule = common.load_spec(load_schedule, None, current, set_, strict)
    show(client.schedules.begin_create_or_update(schedule).result(), output)


@schedule_app.command("list")
def schedule_list(
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """List schedules."""
    show_list(common.client(workspace).schedules.list(), SCHEDULE_COLUMNS, output)


@schedule_app.command("show")
def schedule_show(
    name: common.RequiredName,
    firings: Annotated[int, typer.Option("--firings", help="How many recent firings")] = 10,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Show a schedule and its latest firings (when, and the job each created)."""
    client = common.client(workspace)
    schedule = client.schedules.get(name)
    recent = client.schedules.list_firings(name, max_results=firings)
    if output is not OutputFormat.table:
        show({**as_dict(schedule), "firings": [as_dict(f) for f in recent]}, output)
        return
    show(schedule, output)
    console.print(f"\n[bold]Next firing[/]: {_next_firing(schedule)}")
    console.print(f"[bold]Latest firings[/] ({len(recent)})")
    show_list(recent, FIRING_COLUMNS, output)


@schedule_app.command("enable")
def schedule_enable(
    name: common.RequiredName,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Fire the schedule again, from now on (what it was disabled through is not fired)."""
    show(common.client(workspace).schedules.begin_enable(name).result(), output)


@schedule_app.command("disable")
def schedule_disable(
    name: common.RequiredName,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Stop firing the schedule until it is enabled."""
    show(common.client(workspace).schedules.begin_disable(name).result(), output)


@schedule_app.command("delete")
def schedule_delete(
    name: common.RequiredName,
    yes: common.Yes = False,
    no_wait: common.NoWait = False,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
) -> None:
    """Delete a schedule (the jobs it created stay)."""
    common.confirm(f"Delete schedule {name!r}?", yes)
    common.client(workspace).schedules.begin_delete(name).result()
    console.print(f"Deleted schedule {name}")


@schedule_app.command("run-pending")
def schedule_run_pending(
    watch: Annotated[
        float | None,
        typer.Option("--watch", help="Keep firing, looking every this many seconds"),
    ] = None,
    workspace: common.Workspace = None,
    resource_group: common.ResourceGroup = None,
    output: common.Output = OutputFormat.table,
) -> None:
    """Fire every enabled schedule's due times now, and start their jobs."""
    client = common.client(workspace)
    while True:
        fired = client.schedules.trigger_pending()
        _report(fired, output)
        if watch is None:
            break
        time.sleep(watch)
    if any(f.error for f in fired):
        raise typer.Exit(1)


def _next_firing(schedule: JobSchedule) -> str:
    if not schedule.is_enabled:
        return "none (disabled)"
    now = datetime.now(UTC)
    upcoming = next(iter(schedule.trigger.due_times(now, now + timedelta(days=400))), None)
    return f"{upcoming:%Y-%m-%d %H:%M} UTC" if upcoming else "none (past its end_time)"


def _report(fired: list[Firing], output: OutputFormat) -> None:
    if output is not OutputFormat.table:
        show_list(fired, FIRING_COLUMNS, output)
        return
    for firing in fired:
        if firing.error:
            errors.print(f"[red]{firing.schedule}[/] at {firing.fire_time}: {firing.error}")
        else:
            console.print(f"{firing.schedule} at {firing.fire_time}: started {firing.job_name}")
    if not fired:
        console.print("Nothing due.")
