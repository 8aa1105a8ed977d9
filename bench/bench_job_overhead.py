"""Job overhead: a hello-world command job, submit to Completed, versus running it directly.

The job uses the host interpreter (a warm environment: nothing to build), so what is
measured is Orchard's own cost: snapshot, submit, runner start, tracking server, log
collection and the status round trips.

    .venv/bin/python bench/bench_job_overhead.py [--runs 10]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchard import MLClient, command

SCRIPT = 'print("hello world")\n'


def direct(code: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "hello.py"], cwd=code, check=True, capture_output=True)
    return time.perf_counter() - started


def as_job(client: MLClient, code: Path) -> float:
    started = time.perf_counter()
    job = client.jobs.create_or_update(
        command(code=str(code), command="python hello.py", experiment_name="bench")
    )
    done = client.jobs.stream(job.name or "", out=io.StringIO())
    elapsed = time.perf_counter() - started
    if done.status != "Completed":
        raise SystemExit(f"job {job.name} ended {done.status}: {done.error}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        code = root / "src"
        code.mkdir()
        (code / "hello.py").write_text(SCRIPT)
        client = MLClient(home=root / "home", workspace_name="bench")
        as_job(client, code)  # warm-up: first snapshot upload, experiment creation
        direct(code)
        jobs = [as_job(client, code) for _ in range(args.runs)]
        directs = [direct(code) for _ in range(args.runs)]
        client.close()
    job_median, direct_median = statistics.median(jobs), statistics.median(directs)
    print(f"Hello-world job, {args.runs} timed runs after one warm-up, SQLite workspace")
    print(f"python {sys.version.split()[0]}\n")
    print("| method                                   | median s |   best s |")
    print("|------------------------------------------|---------:|---------:|")
    print(
        f"| `python hello.py` directly               | {direct_median:8.3f} | {min(directs):8.3f} |"
    )
    print(f"| Orchard job, submit to Completed         | {job_median:8.3f} | {min(jobs):8.3f} |")
    print(f"\noverhead, medians: {job_median - direct_median:.3f} s (target: under 1 s)")


if __name__ == "__main__":
    main()
