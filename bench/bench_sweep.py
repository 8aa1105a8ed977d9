"""Sweep jobs: scheduling overhead, and the trial-seconds early termination saves.

Overhead: a sweep of N trials of a script that sleeps 0.5 s, max_concurrent_trials 2,
from submit to Completed, against the ideal (N x 0.5 / 2 s) and against what a user would
otherwise write: a pool of 2 threads running the same script N times as subprocesses.

Early termination: trials log a learning curve, level * (1 - exp(-report / 3)), 40
reports 0.05 s apart, whose level (the final accuracy, 0.1 to 1.0) is the hyperparameter.
The same seeded random sweeps run with no policy, with bandit and with median stopping.
Trial-seconds are the trials' own run times (start to end, from the store); each policy
must keep the best trial the sweep without a policy finds.

    .venv/bin/python bench/bench_sweep.py [--trials 100] [--curve-trials 20] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from orchard import MLClient, command
from orchard.entities.early_termination import EarlyTerminationPolicy
from orchard.entities.sweep import SweepJob
from orchard.sweep import BanditPolicy, MedianStoppingPolicy, RandomSamplingAlgorithm, Uniform

SLEEP = 'import sys, time\ntime.sleep(0.5)\nprint("slept", sys.argv[1])\n'
CURVE = """
import argparse, json, math, os, time, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--level", type=float)
args = parser.parse_args()
url = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric"
for step in range(40):
    value = args.level * (1 - math.exp(-(step + 1) / 3))
    body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "accuracy", "value": value,
            "timestamp": int(time.time() * 1000), "step": step}
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
    time.sleep(0.05)
"""


def run(client: MLClient, sweep: SweepJob) -> tuple[float, SweepJob]:
    started = time.perf_counter()
    submitted = client.jobs.create_or_update(sweep)
    done = client.jobs.stream(submitted.name or "", out=io.StringIO())
    elapsed = time.perf_counter() - started
    if done.status != "Completed" or not isinstance(done, SweepJob):
        raise SystemExit(f"sweep {submitted.name} ended {done.status}: {done.error}")
    return elapsed, done


def overhead(client: MLClient, code: Path, trials: int) -> list[str]:
    sweep = command(code=str(code), command="python sleep.py ${{inputs.x}}")(
        x=Uniform(min_value=0, max_value=1)
    ).sweep(
        primary_metric="never-logged-here",
        goal="maximize",
        max_total_trials=trials,
        max_concurrent_trials=2,
    )
    # The trials log no metric: the sweep then fails by design, after running them all.
    started = time.perf_counter()
    submitted = client.jobs.create_or_update(sweep)
    done = client.jobs.stream(submitted.name or "", out=io.StringIO())
    orchard_s = time.perf_counter() - started
    finished = client.jobs.list(parent_job_name=submitted.name)
    assert len(finished) == trials and all(j.status == "Completed" for j in finished), done.error
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda i: _direct(code, i), range(trials)))
    pool_s = time.perf_counter() - started
    ideal = trials * 0.5 / 2
    return [
        f"| ideal: {trials} x 0.5 s / 2 | {ideal:.1f} | 1.00x |  |",
        f"| 2 threads running `python sleep.py` | {pool_s:.1f} | {pool_s / ideal:.2f}x |  |",
        f"| Orchard sweep job, submit to end | {orchard_s:.1f} | {orchard_s / ideal:.2f}x |"
        f" {'yes' if orchard_s / ideal < 1.3 else 'no'} (< 1.3x) |",
    ]


def _direct(code: Path, index: int) -> None:
    subprocess.run(
        [sys.executable, "sleep.py", str(index)], cwd=code, check=True, capture_output=True
    )


def curves(client: MLClient, code: Path, trials: int, seeds: list[int]) -> list[str]:
    """Each policy over the same seeded sweeps; savings are summed over the seeds, since
    how much a policy saves depends on the levels a seed happens to draw."""
    policies: list[tuple[str, EarlyTerminationPolicy | None]] = [
        ("none", None),
        ("bandit (slack_factor 0.1, delay 5)", BanditPolicy(slack_factor=0.1, delay_evaluation=5)),
        ("median stopping (delay 5)", MedianStoppingPolicy(delay_evaluation=5)),
    ]
    spent: dict[str, float] = {}
    stopped: dict[str, int] = {}
    kept: dict[str, int] = {}
    best_without: dict[int, str] = {}
    for label, policy in policies:
        for seed in seeds:
            done = _curve_sweep(client, code, trials, seed, policy)
            spent[label] = spent.get(label, 0.0) + _trial_seconds(client, done)
            stopped[label] = stopped.get(label, 0) + int(
                done.properties.get("trials_early_terminated", "0")
            )
            best = done.properties["best_child_run_id"].rsplit("_", 1)[-1]
            best_without.setdefault(seed, best)
            kept[label] = kept.get(label, 0) + (best == best_without[seed])
    rows = []
    for label, policy in policies:
        saved = 1 - spent[label] / spent["none"]
        met = (
            ""
            if policy is None
            else ("yes" if saved >= 0.4 and kept[label] == len(seeds) else "no")
        )
        rows.append(
            f"| {label} | {spent[label]:.1f} | {saved:.0%} | {stopped[label]} | "
            f"{kept[label]} of {len(seeds)} | {met} |"
        )
    return rows


def _curve_sweep(
    client: MLClient, code: Path, trials: int, seed: int, policy: EarlyTerminationPolicy | None
) -> SweepJob:
    sweep = command(code=str(code), command="python curve.py --level ${{inputs.level}}")(
        level=Uniform(min_value=0.1, max_value=1.0)
    ).sweep(
        primary_metric="accuracy",
        goal="maximize",
        sampling_algorithm=RandomSamplingAlgorithm(seed=seed),
        max_total_trials=trials,
        max_concurrent_trials=2,
        early_termination_policy=policy,
    )
    _, done = run(client, sweep)
    return done


def _trial_seconds(client: MLClient, sweep: SweepJob) -> float:
    children = client.jobs.list(parent_job_name=sweep.name)
    return sum(((c.end_time or 0) - (c.start_time or 0)) / 1000 for c in children)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--curve-trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        code = root / "src"
        code.mkdir()
        (code / "sleep.py").write_text(SLEEP)
        (code / "curve.py").write_text(textwrap.dedent(CURVE))
        client = MLClient(home=root / "home", workspace_name="bench")
        load = os.getloadavg()[0]
        first = overhead(client, code, args.trials)
        second = curves(client, code, args.curve_trials, args.seeds)
        client.close()
    print(f"Sweep jobs, SQLite workspace, python {sys.version.split()[0]}")
    print(f"nproc {os.cpu_count()}, load average {load:.2f} at the start\n")
    print(f"Overhead: {args.trials} trials of a 0.5 s script, max_concurrent_trials 2\n")
    print("| method | wall s | / ideal | target met |")
    print("|---|---:|---:|---|")
    print("\n".join(first))
    print(
        f"\nEarly termination: {args.curve_trials} trials of 40 reports each, seeded random "
        f"sampling, seeds {', '.join(map(str, args.seeds))}, totals over the seeds\n"
    )
    print("| policy | trial-seconds | saved | trials stopped | same best trial | target met |")
    print("|---|---:|---:|---:|---|---|")
    print("\n".join(second))
    print("\ntarget: at least 40% of trial-seconds saved, and the same best trial as with none")


if __name__ == "__main__":
    main()
