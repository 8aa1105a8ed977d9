"""`orchard data profile` output."""

from __future__ import annotations

from rich.table import Table

from orchard.cli.output import OutputFormat, console, show
from orchard.data.profile import DataProfile  # imported only when a profile is shown


def render_profile(profile: DataProfile, fmt: OutputFormat) -> None:
    if fmt is not OutputFormat.table:
        show(profile.to_dict(), fmt)
        return
    table = Table(
        "column",
        "type",
        "missing",
        "distinct",
        "min",
        "max",
        "mean",
        title=f"{profile.rows} rows",
        header_style="bold",
    )
    for column in profile.columns:
        mean = "" if column.mean is None else f"{column.mean:.4g}"
        table.add_row(
            column.name,
            column.type,
            str(column.missing),
            str(column.distinct),
            _text(column.min),
            _text(column.max),
            mean,
        )
    console.print(table)


def _text(value: object) -> str:
    return "" if value is None else str(value)
