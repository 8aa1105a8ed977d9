"""`orchard job list --columns` and `orchard job compare` output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from orchard.cli.output import OutputFormat, as_dict, console, show
from orchard.entities.comparison import JobComparison, Value
from orchard.entities.job_types import Job
from orchard.entities.jobs import CommandJob
from orchard.entities.sweep import SweepJob
from orchard.entities.tracking import RunData
from orchard.errors import ValidationError

# The sections a column may name, as MLflow's search_runs names its columns, and the job's
# own inputs.
SECTIONS = {
    "inputs": "inputs",
    "input": "inputs",
    "params": "params",
    "param": "params",
    "metrics": "metrics",
    "metric": "metrics",
    "tags": "tags",
    "tag": "tags",
}
DIFFERS_STYLE = "bold yellow"
JOB_FIELDS = {*CommandJob.model_fields, *SweepJob.model_fields}


def parse_columns(raw: Sequence[str] | None) -> list[str]:
    """`params.lr,metrics.accuracy` (comma-separated, repeatable) as normalised column
    names; a bare name is a job field (`display_name`, `start_time`, ...)."""
    columns: list[str] = []
    for item in raw or []:
        for part in item.split(","):
            name = part.strip()
            if not name:
                continue
            prefix, dot, key = name.partition(".")
            if dot and prefix in SECTIONS and key:
                column = f"{SECTIONS[prefix]}.{key}"
            elif prefix in JOB_FIELDS and prefix not in SECTIONS:
                column = name
            else:
                raise ValidationError(
                    f"--columns: unknown column {name!r}; use inputs.<name>, params.<key>, "
                    "metrics.<key>, tags.<key> or a job field such as display_name or start_time"
                )
            if column not in columns:
                columns.append(column)
    return columns


def needs_run_data(columns: Sequence[str]) -> bool:
    return any(column.partition(".")[0] in ("params", "metrics", "tags") for column in columns)


def job_rows(
    jobs: Sequence[Job], columns: Sequence[str], data: Mapping[str, RunData]
) -> list[dict[str, Any]]:
    """Each job's spec with the tracked columns added as flat keys (`metrics.accuracy`);
    a job that never logged a key has null there."""
    rows = []
    for job in jobs:
        body: dict[str, Any] = as_dict(job)
        run = data.get(job.name or "")
        logged: dict[str, dict[str, Any]] = {
            "inputs": job.input_values(),
            "params": {p.key: p.value for p in run.params} if run else {},
            "metrics": {m.key: m.value for m in run.metrics} if run else {},
            "tags": {t.key: t.value for t in run.tags} if run else {},
        }
        for column in columns:
            section, _, key = column.partition(".")
            if section in logged:
                body[column] = logged[section].get(key)
        rows.append(body)
    return rows


def render_comparison(comparison: JobComparison, fmt: OutputFormat) -> None:
    if fmt is not OutputFormat.table:
        show(comparison.to_dict(), fmt)
        return
    differing = set(comparison.differing())
    rows = comparison.rows()
    caption = (
        "no params or metrics logged"
        if not rows
        else f"{len(differing)} of {len(rows)} rows differ (highlighted)"
    )
    table = Table("key", *comparison.jobs, header_style="bold", caption=caption)
    section = ""
    for name, values in rows:
        current = name.partition(".")[0]
        if section and current != section:
            table.add_section()
        section = current
        table.add_row(
            Text(name),
            *(_cell(value) for value in values),
            style=DIFFERS_STYLE if name in differing else None,
        )
    console.print(table)


def _cell(value: Value) -> Text:
    # Text, not markup: a logged value such as "[red]" is shown as it is.
    return Text("" if value is None else str(value))
