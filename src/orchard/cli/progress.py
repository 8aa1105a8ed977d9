"""Progress bars for long work; silent when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from orchard.cli.output import errors


@contextmanager
def upload_progress(description: str) -> Iterator[Callable[[int], None] | None]:
    """Yields a callback taking each chunk's byte count, or None when nobody is watching."""
    if not errors.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def advance(chunk: int) -> None:
            bar.advance(task, chunk)

        yield advance
