"""`Experiment`: a run's experiment, with the workspace it lives in."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchard.run.workspace import Workspace


class Experiment:
    """azureml.core.Experiment's name and workspace. The workspace may be given as a
    function, so a run that never asks for it never opens the store."""

    def __init__(self, workspace: Workspace | Callable[[], Workspace], name: str) -> None:
        self.name = name
        self._workspace = workspace
        self._opened: Workspace | None = None

    @property
    def workspace(self) -> Workspace:
        if self._opened is None:
            found = self._workspace
            self._opened = found if not callable(found) else found()
        return self._opened

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"
