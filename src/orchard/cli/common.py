"""Options every command shares, and the helpers behind them."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from orchard.cli.output import OutputFormat, errors
from orchard.entities.spec import UnknownFieldWarning
from orchard.errors import ValidationError
from orchard.sdk.client import MLClient

T = TypeVar("T")

Workspace = Annotated[
    str | None,
    typer.Option("--workspace-name", "-w", help="Workspace (default: ORCHARD_WORKSPACE or config)"),
]
ResourceGroup = Annotated[
    str | None, typer.Option("--resource-group", "-g", help="Accepted for az ml scripts; unused")
]
Subscription = Annotated[
    str | None, typer.Option("--subscription", help="Accepted for az ml scripts; unused")
]
Output = Annotated[OutputFormat, typer.Option("--output", "-o", help="table, json or yaml")]
File = Annotated[Path | None, typer.Option("--file", "-f", help="YAML spec")]
Name = Annotated[str | None, typer.Option("--name", "-n", help="Name")]
RequiredName = Annotated[str, typer.Option("--name", "-n", help="Name")]
Version = Annotated[str | None, typer.Option("--version", "-v", help="Version")]
Label = Annotated[str | None, typer.Option("--label", "-l", help="Label, e.g. latest")]
Set = Annotated[
    list[str] | None, typer.Option("--set", help="Override a spec field: key=value (repeatable)")
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Unknown spec fields are errors (ORCHARD_STRICT)")
]
NoWait = Annotated[
    bool, typer.Option("--no-wait", help="Accepted for az ml scripts; Orchard does not wait")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")]
Description = Annotated[str | None, typer.Option("--description", "-d", help="Description")]
Tags = Annotated[list[str] | None, typer.Option("--tags", "--tag", help="key=value (repeatable)")]


def client(workspace: str | None, *, create_workspace: bool = True) -> MLClient:
    return MLClient(workspace_name=workspace, create_workspace=create_workspace)


@contextmanager
def reported_warnings() -> Iterator[None]:
    """Show spec warnings (unknown fields) on stderr, once each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownFieldWarning)
        yield
    seen: set[str] = set()
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, UnknownFieldWarning) and text not in seen:
            seen.add(text)
            errors.print(f"[yellow]Warning:[/] {text}", highlight=False)


def load_spec(
    loader: Callable[..., T],
    file: Path | None,
    fields: dict[str, Any],
    overrides: list[str] | None,
    strict: bool,
) -> T:
    """A spec from `--file` (fields and `--set` override it) or from flags alone."""
    given = {key: value for key, value in fields.items() if value is not None}
    assignments = [*(f"{k}={_yaml_scalar(v)}" for k, v in given.items() if _scalar(v))]
    assignments += overrides or []
    with reported_warnings():
        if file is not None:
            loaded = loader(file, params_override=assignments, strict=strict or None)
        else:
            body = {k: v for k, v in given.items() if not _scalar(v)}
            loaded = loader(body, params_override=assignments, strict=strict or None)
    return loaded


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not key:
            raise ValidationError(f"{what} {pair!r}: expected key=value")
        result[key] = value if sep else ""
    return result


def confirm(question: str, yes: bool) -> None:
    if not yes and not typer.confirm(question, default=False):
        raise typer.Exit(1)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _yaml_scalar(value: Any) -> str:
    # `--set` reads values as YAML; quote strings so "1.0" stays a string.
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value).lower() if isinstance(value, bool) else str(value)
