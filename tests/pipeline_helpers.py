"""Small components and pipelines written into a test's folder, shared by the pipeline
tests of each layer.

`make` writes `n` numbered files into its output folder; `tally` sums the numbers it
reads, times `scale`, into `report.txt`; `flaky` exits 1. Each step prints what it did, so
a test can read the step's std_log.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import yaml

from orchard.entities.pipelines import PipelineJob
from orchard.sdk.client import MLClient

SCHEMA = "https://azuremlschemas.azureedge.net/latest"

SCRIPTS = {
    "make.py": """
        import pathlib, sys
        n, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
        for i in range(n):
            (out / f"f{i}.txt").write_text(str(i))
        print("made", n)
    """,
    "tally.py": """
        import pathlib, sys
        data, scale, out = pathlib.Path(sys.argv[1]), float(sys.argv[2]), pathlib.Path(sys.argv[3])
        total = sum(int(p.read_text()) for p in sorted(data.iterdir())) * scale
        (out / "report.txt").write_text(repr(total))
        print("total", total)
    """,
    "flaky.py": """
        import sys
        print("failing on purpose", file=sys.stderr)
        sys.exit(1)
    """,
}

MAKE = {
    "$schema": f"{SCHEMA}/commandComponent.schema.json",
    "name": "make_numbers",
    "version": "1",
    "type": "command",
    "inputs": {"n": {"type": "integer", "default": 3, "min": 0, "max": 1000}},
    "outputs": {"out": {"type": "uri_folder"}},
    "code": "./src",
    "command": "python make.py ${{inputs.n}} ${{outputs.out}}",
}
TALLY = {
    "$schema": f"{SCHEMA}/commandComponent.schema.json",
    "name": "tally",
    "version": "1",
    "type": "command",
    "inputs": {
        "data": {"type": "uri_folder"},
        "scale": {"type": "number", "default": 1.0},
    },
    "outputs": {"report": {"type": "uri_folder"}},
    "code": "./src",
    "command": "python tally.py ${{inputs.data}} ${{inputs.scale}} ${{outputs.report}}",
}
FLAKY = {
    "$schema": f"{SCHEMA}/commandComponent.schema.json",
    "name": "flaky",
    "version": "1",
    "type": "command",
    "inputs": {"data": {"type": "uri_folder", "optional": True}},
    "outputs": {"out": {"type": "uri_folder"}},
    "code": "./src",
    "command": "python flaky.py",
}

# make -> tally, the pipeline's output `report` bound to tally's.
PIPELINE: dict[str, Any] = {
    "$schema": f"{SCHEMA}/pipelineJob.schema.json",
    "type": "pipeline",
    "display_name": "make-and-tally",
    "experiment_name": "pipelines",
    "inputs": {"count": 4, "scale": 2.0},
    "outputs": {"report": {"mode": "upload"}},
    "jobs": {
        "make": {
            "type": "command",
            "component": "./make.yml",
            "inputs": {"n": "${{parent.inputs.count}}"},
        },
        "tally": {
            "type": "command",
            "component": "file:./tally.yml",
            "inputs": {
                "data": "${{parent.jobs.make.outputs.out}}",
                "scale": "${{parent.inputs.scale}}",
            },
            "outputs": {"report": "${{parent.outputs.report}}"},
        },
    },
}


def write_project(folder: Path, pipeline: dict[str, Any] | None = None) -> Path:
    """Components, their scripts and a pipeline spec in `folder`; the spec's path."""
    src = folder / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in SCRIPTS.items():
        (src / name).write_text(textwrap.dedent(text))
    for name, body in (("make", MAKE), ("tally", TALLY), ("flaky", FLAKY)):
        (folder / f"{name}.yml").write_text(yaml.safe_dump(body))
    spec = folder / "pipeline.yml"
    spec.write_text(yaml.safe_dump(pipeline or PIPELINE, sort_keys=False))
    return spec


def run_pipeline(ml_client: MLClient, job: PipelineJob) -> tuple[PipelineJob, str]:
    """Submit and wait; the finished pipeline and its log."""
    submitted = ml_client.jobs.create_or_update(job)
    assert submitted.name
    log = io.StringIO()
    done = ml_client.jobs.stream(submitted.name, out=log)
    assert isinstance(done, PipelineJob)
    return done, log.getvalue()


def statuses(ml_client: MLClient, pipeline: str) -> dict[str, str]:
    return {node.name: node.status for node in ml_client.jobs.graph(pipeline).nodes}
