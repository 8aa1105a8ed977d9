"""The job state machine: a job moves only along these edges."""

from __future__ import annotations

from orchard.entities.jobs import JobStatus as S
from orchard.errors import Conflict

_STOPPABLE = frozenset({S.FAILED, S.CANCEL_REQUESTED, S.CANCELED})

EDGES: dict[str, frozenset[str]] = {
    S.NOT_STARTED: frozenset({S.QUEUED}) | _STOPPABLE,
    S.QUEUED: frozenset({S.PREPARING}) | _STOPPABLE,
    S.PREPARING: frozenset({S.RUNNING}) | _STOPPABLE,
    S.RUNNING: frozenset({S.FINALIZING, S.COMPLETED}) | _STOPPABLE,
    S.FINALIZING: frozenset({S.COMPLETED}) | _STOPPABLE,
    # Only the runner ends a cancel it was asked for, once the command is stopped.
    S.CANCEL_REQUESTED: frozenset({S.CANCELED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
}


def check_transition(job: str, current: str, wanted: str) -> None:
    if wanted == current:
        return
    if wanted not in EDGES.get(current, frozenset()):
        raise Conflict(f"job {job} cannot move from {current} to {wanted}")


def is_terminal(status: str) -> bool:
    return status in S.TERMINAL


def is_stopping(status: str) -> bool:
    """True once a job will end as Canceled: the runner must stop, not advance."""
    return status in (S.CANCEL_REQUESTED, S.CANCELED)
