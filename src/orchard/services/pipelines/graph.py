"""The step graph: refusing cycles, and the order steps can run in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchard.errors import ValidationError


def check_acyclic(needs: Mapping[str, Sequence[str]]) -> None:
    """Refuse a cycle, naming it: `a -> b -> a`."""
    state: dict[str, str] = {}  # "visiting" | "done"

    def visit(step: str, path: list[str]) -> None:
        if state.get(step) == "done":
            return
        if state.get(step) == "visiting":
            cycle = [*path[path.index(step) :], step]
            raise ValidationError(
                f"pipeline steps form a cycle: {' -> '.join(cycle)}; a step cannot depend "
                "on its own outputs"
            )
        state[step] = "visiting"
        for upstream in needs.get(step, ()):
            visit(upstream, [*path, step])
        state[step] = "done"

    for step in needs:
        visit(step, [])


def layers(needs: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Steps grouped by depth: each layer needs only steps of earlier layers."""
    depth: dict[str, int] = {}

    def depth_of(step: str) -> int:
        if step not in depth:
            depth[step] = 1 + max((depth_of(up) for up in needs.get(step, ())), default=-1)
        return depth[step]

    for step in needs:
        depth_of(step)
    grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for step in needs:  # in the pipeline's own order within a layer
        grouped[depth[step]].append(step)
    return grouped
