"""A pipeline's graph as the Studio draws it: steps as nodes (with each one's status and
job), data passed between them as edges."""

from __future__ import annotations

from orchard.entities.base import Entity


class GraphNode(Entity):
    name: str
    type: str
    status: str
    job_name: str | None = None
    display_name: str | None = None
    component: str | None = None
    reused_from: str | None = None
    layer: int = 0


class GraphEdge(Entity):
    source: str
    source_output: str
    target: str
    target_input: str


class PipelineGraph(Entity):
    name: str
    status: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
