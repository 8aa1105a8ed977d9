"""Pipeline jobs: scheduling overhead per step, and a fully reused rerun.

Each step runs `python step.py <i>`, which prints a line (about 20 ms of interpreter
start). Two 50-step shapes:
- deep: a chain, each step reading the one before's output folder;
- wide: 50 independent steps, as many at a time as the machine has cores.
Against what a user would otherwise write: the same 50 commands as subprocesses, one
after the other (deep) or from a pool of as many threads (wide). Overhead per step is
(Orchard's time - the script's time) / 50. Then the same pipeline is submitted again:
every step is reused, and its time from submit to Completed is the rerun's time.

Targets (issue 7): under 0.3 s of overhead per step; a fully reused rerun under 2 s.

    .venv/bin/python bench/bench_pipelines.py [--steps 50]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from orchard import MLClient
from orchard.entities.pipelines import PipelineJob

STEP = "import sys\nprint('step', sys.argv[1])\n"


def pipeline(steps: int, code: Path, deep: bool) -> PipelineJob:
    jobs: dict[str, Any] = {}
    for i in range(steps):
        step: dict[str, Any] = {
            "code": str(code),
            "command": f"python step.py {i}",
            "outputs": {"out": {"type": "uri_folder"}},
        }
        if deep and i:
            step["command"] += " ${{inputs.previous}}"
            step["inputs"] = {"previous": f"${{{{parent.jobs.s{i - 1}.outputs.out}}}}"}
        jobs[f"s{i}"] = step
    return PipelineJob.model_validate({"type": "pipeline", "jobs": jobs})


def run(client: MLClient, job: PipelineJob) -> float:
    started = time.perf_counter()
    submitted = client.jobs.create_or_update(job)
    done = client.jobs.stream(submitted.name or "", out=io.StringIO())
    elapsed = time.perf_counter() - started
    if done.status != "Completed":
        raise SystemExit(f"pipeline {submitted.name} ended {done.status}: {done.error}")
    return elapsed


def baseline(steps: int, code: Path, workers: int) -> float:
    def one(i: int) -> None:
        subprocess.run(
            [sys.executable, "step.py", str(i)], cwd=code, check=True, capture_output=True
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(steps)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        code = root / "code"
        code.mkdir()
        (code / "step.py").write_text(STEP)
        client = MLClient(home=root / ".orchard")
        rows = []
        for shape, deep in (("deep", True), ("wide", False)):
            job = pipeline(args.steps, code, deep)
            script = baseline(args.steps, code, 1 if deep else cores)
            first = run(client, job)
            rerun = run(client, job)
            overhead = (first - script) / args.steps
            rows.append((shape, script, first, overhead, rerun))
        client.close()
    print(f"{args.steps} steps, {cores} cores")
    print(
        "| shape | subprocesses (s) | Orchard pipeline (s) | ratio | overhead per step (s) "
        "| target | fully reused rerun (s) | target |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for shape, script, first, overhead, rerun in rows:
        print(
            f"| {shape} | {script:.2f} | {first:.2f} | {first / script:.1f}x | {overhead:.3f} "
            f"| < 0.3 {'met' if overhead < 0.3 else 'NOT met'} | {rerun:.2f} "
            f"| < 2 {'met' if rerun < 2 else 'NOT met'} |"
        )


if __name__ == "__main__":
    main()
