"""A pipeline in the terminal: its summary, then its steps layer by layer, each with its
status and the upstream outputs it reads."""

from __future__ import annotations

from rich.text import Text
from rich.tree import Tree

from orchard.cli.output import OutputFormat, console, show
from orchard.entities.job_types import Job
from orchard.entities.pipeline_graph import PipelineGraph

SUMMARY_FIELDS = (
    "name",
    "display_name",
    "status",
    "experiment_name",
    "start_time",
    "end_time",
    "error",
)
STATUS_STYLES = {
    "Completed": ("✔", "green"),
    "Reused": ("↺", "cyan"),
    "Failed": ("✘", "red"),
    "Canceled": ("■", "yellow"),
    "Skipped": ("-", "dim"),
    "Running": ("▶", "bold blue"),
}


def show_pipeline(job: Job, graph: PipelineGraph, fmt: OutputFormat) -> None:
    """As a table: the summary and the graph; as JSON or YAML: the job with its graph."""
    if fmt is not OutputFormat.table:
        show({**job.to_spec(), "graph": graph.model_dump(mode="json")}, fmt)
        return
    summary = {k: v for k, v in job.model_dump(mode="json").items() if k in SUMMARY_FIELDS}
    show({k: v for k, v in summary.items() if v is not None}, fmt)
    console.print(render_graph(graph))


def render_graph(graph: PipelineGraph) -> Tree:
    symbol, style = STATUS_STYLES.get(graph.status, ("●", ""))
    tree = Tree(Text(f"{symbol} pipeline {graph.name}  {graph.status}", style=style))
    inbound: dict[str, list[str]] = {}
    for edge in graph.edges:
        inbound.setdefault(edge.target, []).append(
            f"{edge.target_input} ← {edge.source}.{edge.source_output}"
        )
    for layer in sorted({node.layer for node in graph.nodes}):
        branch = tree.add(Text(f"layer {layer + 1}", style="bold"))
        for node in (n for n in graph.nodes if n.layer == layer):
            symbol, style = STATUS_STYLES.get(node.status, ("○", ""))
            line = Text(f"{symbol} {node.name}", style=style)
            line.append(f"  {node.status}")
            if node.reused_from:
                line.append(f" (from {node.reused_from})", style="dim")
            elif node.job_name:
                line.append(f"  {node.job_name}", style="dim")
            step = branch.add(line)
            for reading in inbound.get(node.name, []):
                step.add(Text(reading, style="dim"))
    return tree
