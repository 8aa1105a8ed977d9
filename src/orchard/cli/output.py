"""Rendering entities: rich tables by default, JSON or YAML on request."""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


def as_dict(item: Any) -> Any:
    if isinstance(item, BaseModel):
        to_spec = getattr(item, "to_spec", None)
        return to_spec() if callable(to_spec) else item.model_dump(mode="json", exclude_none=True)
    if hasattr(item, "to_dict"):
        return item.to_dict()
    return item


def show(item: Any, fmt: OutputFormat) -> None:
    body = as_dict(item)
    if fmt is OutputFormat.json:
        print(json.dumps(body, indent=2, default=str))
    elif fmt is OutputFormat.yaml:
        print(yaml.safe_dump(body, sort_keys=False), end="")
    else:
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan")
        table.add_column()
        for key, value in body.items():
            table.add_row(str(key), _cell(value))
        console.print(table)


def show_list(items: Sequence[Any], columns: Sequence[str], fmt: OutputFormat) -> None:
    bodies = [as_dict(item) for item in items]
    if fmt is OutputFormat.json:
        print(json.dumps(bodies, indent=2, default=str))
        return
    if fmt is OutputFormat.yaml:
        print(yaml.safe_dump(bodies, sort_keys=False), end="")
        return
    table = Table(*columns, header_style="bold")
    for body in bodies:
        table.add_row(*(_cell(_lookup(body, column)) for column in columns))
    console.print(table)


def _lookup(body: dict[str, Any], column: str) -> Any:
    if column in body:  # a flat key such as `metrics.accuracy`
        return body[column]
    value: Any = body
    for part in column.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
    if isinstance(value, float):
        return f"{value:.6g}"  # a table is read, not parsed: -o json keeps every digit
    return str(value)
