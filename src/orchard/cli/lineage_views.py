"""Lineage as a rich tree: model -> job -> code, environment, params, data versions;
data version -> jobs that read it -> models they produced. `-o json|yaml` dumps the entity."""

from __future__ import annotations

from rich.markup import escape
from rich.tree import Tree

from orchard.cli.output import OutputFormat, console, show
from orchard.entities.lineage import DataUsage, JobInputLineage, JobLineage, ModelLineage


def render_lineage(lineage: ModelLineage, fmt: OutputFormat) -> None:
    if fmt is not OutputFormat.table:
        show(lineage, fmt)
        return
    model = lineage.model
    tree = Tree(f"[bold]model[/] {escape(f'{model.name}:{model.version}')} ({model.type})")
    if lineage.job is not None:
        _add_job(tree, lineage.job)
    elif model.job_name:
        tree.add(f"job {escape(model.job_name)} [dim](not found in this workspace)[/]")
    else:
        tree.add("[dim]no job: registered from files[/]")
    console.print(tree)


def render_used_by(usage: DataUsage, fmt: OutputFormat) -> None:
    if fmt is not OutputFormat.table:
        show(usage, fmt)
        return
    data = usage.data
    tree = Tree(f"[bold]data[/] {escape(f'{data.name}:{data.version}')} ({data.type})")
    if not usage.jobs:
        tree.add("[dim]no job has read this version[/]")
    for job in usage.jobs:
        inputs = ", ".join(job.inputs)
        branch = tree.add(
            f"[bold]job[/] {escape(job.name)} ({job.status}), "
            f"experiment {escape(job.experiment or '')}, input {escape(inputs)}"
        )
        for model in job.models:
            branch.add(f"[bold]model[/] {escape(model)}")
    console.print(tree)


def _add_job(tree: Tree, job: JobLineage) -> None:
    branch = tree.add(
        f"[bold]job[/] {escape(job.name)} ({job.status}), experiment {escape(job.experiment or '')}"
    )
    branch.add(f"code {escape(job.code or '(none)')}")
    branch.add(f"environment {escape(job.environment or '(the host interpreter)')}")
    if job.inputs:
        inputs = branch.add("inputs")
        for name, bound in job.inputs.items():
            inputs.add(f"{escape(name)}: {_input_text(bound)}")
    if job.params:
        params = branch.add("params")
        for key, value in job.params.items():
            params.add(f"{escape(key)} = {escape(value)}")


def _input_text(bound: JobInputLineage) -> str:
    if bound.data:
        return f"data asset [bold]{escape(bound.data)}[/] at {escape(bound.uri or '')}"
    if bound.value is not None:
        return escape(bound.value)
    return escape(bound.uri or "")
