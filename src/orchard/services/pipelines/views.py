"""What a pipeline looks like now: its steps with their jobs' statuses, and the edges."""

from __future__ import annotations

from orchard.entities.jobs import JobStatus
from orchard.entities.pipeline_graph import GraphEdge, GraphNode, PipelineGraph
from orchard.errors import ValidationError
from orchard.services.jobs import JobService
from orchard.services.jobs.states import is_terminal
from orchard.services.pipelines.graph import layers
from orchard.services.pipelines.steps import (
    COMPONENT_PROPERTY,
    REUSED,
    REUSED_FROM_PROPERTY,
    SKIPPED,
)


class PipelineViews:
    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    def graph(self, workspace: str, name: str) -> PipelineGraph:
        pipeline = self.jobs.get(workspace, name)
        if pipeline.type != "pipeline":
            raise ValidationError(f"job {name} is a {pipeline.type} job, not a pipeline")
        plans = self.jobs.resolved(workspace, name).get("steps", {})
        children = {job.name: job for job in self.jobs.list(workspace, parent=name)}
        depth = {
            step: index
            for index, layer in enumerate(layers({s: p["needs"] for s, p in plans.items()}))
            for step in layer
        }
        nodes = []
        for step, plan in plans.items():
            job_name = plan["job"]["name"]
            child = children.get(job_name)
            reused = child.properties.get(REUSED_FROM_PROPERTY) if child else None
            if child is None:
                status = SKIPPED if is_terminal(pipeline.status or "") else JobStatus.NOT_STARTED
            else:
                status = REUSED if reused else child.status or JobStatus.QUEUED
            nodes.append(
                GraphNode(
                    name=step,
                    type=plan["type"],
                    status=status,
                    job_name=job_name if child else None,
                    display_name=plan["job"].get("display_name"),
                    component=plan["job"].get("properties", {}).get(COMPONENT_PROPERTY),
                    reused_from=reused,
                    layer=depth[step],
                )
            )
        edges = [
            GraphEdge(
                source=bound["step"],
                source_output=bound["output"],
                target=step,
                target_input=input_name,
            )
            for step, plan in plans.items()
            for input_name, bound in plan["from_steps"].items()
        ]
        return PipelineGraph(
            name=name, status=pipeline.status or JobStatus.QUEUED, nodes=nodes, edges=edges
        )
