"""Batch scoring of 1,000,000 rows: an Orchard batch endpoint versus a plain pandas loop.

The same scikit-learn model (an MLflow model: gradient-boosted trees, 100 of them, on 8
features) scores the same CSV files (20 files of 50,000 rows). What a user would
otherwise write is the loop: a script that loads the model, reads each file, predicts,
and appends `row,prediction,file` lines to one predictions file; it is timed as the user
runs it, `python loop.py`, imports included. Orchard's side is an MLflow batch deployment
with no scoring script, invoked on the folder: from the invoke to the job's Completed
(job start, worker start and model load included), its predictions.csv checked row by
row against the loop's. Rows/s of each, and their ratio.

    .venv/bin/python bench/bench_batch.py [--rows 1000000] [--files 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from orchard import Input, MLClient
from orchard.entities import BatchEndpoint, Model, ModelBatchDeployment
from orchard.entities.batch_endpoints import ModelBatchDeploymentSettings

FEATURES = [f"f{i}" for i in range(8)]


def make_material(root: Path, rows: int, files: int) -> tuple[Path, Path]:
    import mlflow.sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(7)
    train = pd.DataFrame(rng.normal(size=(5_000, len(FEATURES))), columns=FEATURES)
    labels = (train["f0"] * train["f1"] + np.sin(train["f2"]) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=100, early_stopping=False).fit(train, labels)
    mlflow.sklearn.save_model(model, str(root / "model"), serialization_format="cloudpickle")
    data = root / "data"
    data.mkdir()
    per_file = rows // files
    for i in range(files):
        frame = pd.DataFrame(rng.normal(size=(per_file, len(FEATURES))), columns=FEATURES)
        frame.round(6).to_csv(data / f"part-{i:03d}.csv", index=False)
    return root / "model", data


LOOP = """
import sys
from pathlib import Path
import mlflow.pyfunc
import pandas as pd

model_path, data, out = sys.argv[1:]
model = mlflow.pyfunc.load_model(model_path)
with open(out, "w") as sink:
    for path in sorted(Path(data).iterdir()):
        frame = pd.read_csv(path)
        scored = pd.DataFrame(
            {"row": frame.index, "prediction": model.predict(frame), "file": path.name}
        )
        scored.to_csv(sink, header=False, index=False)
"""


def pandas_loop(model_path: Path, data: Path, out: Path) -> float:
    script = out.with_name("loop.py")
    script.write_text(LOOP)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script), str(model_path), str(data), str(out)], check=True)
    return time.perf_counter() - started


def orchard_endpoint(home: Path, model_path: Path, data: Path, workers: int) -> tuple[float, Path]:
    client = MLClient(home=home, workspace_name="bench")
    client.models.create_or_update(
        Model(name="bench-clf", path=str(model_path), type="mlflow_model")
    )
    client.batch_endpoints.begin_create_or_update(BatchEndpoint(name="bench")).result()
    deployment = ModelBatchDeployment(
        name="mlflow",
        endpoint_name="bench",
        model="azureml:bench-clf@latest",
        settings=ModelBatchDeploymentSettings(
            mini_batch_size=1, max_concurrency_per_instance=workers
        ),
    )
    client.batch_deployments.begin_create_or_update(deployment).result()
    started = time.perf_counter()
    job = client.batch_endpoints.invoke("bench", input=Input(type="uri_folder", path=str(data)))
    log = io.StringIO()
    done = client.jobs.stream(job.name or "", out=log)
    elapsed = time.perf_counter() - started
    if done.status != "Completed":
        raise SystemExit(f"batch job {job.name} ended {done.status}:\n{log.getvalue()}")
    client.jobs.download(job.name or "", home / "download", output_name="score")
    return elapsed, home / "download" / "named-outputs" / "score" / "predictions.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="orchard-bench-batch-") as scratch:
        root = Path(scratch)
        model_path, data = make_material(root, args.rows, args.files)
        loop_seconds = pandas_loop(model_path, data, root / "loop.csv")
        orchard_seconds, scores = orchard_endpoint(root / "home", model_path, data, args.workers)
        names = ["row", "prediction", "file"]
        expected = pd.read_csv(root / "loop.csv", names=names)
        got = pd.read_csv(scores, names=names)
        if not got.equals(expected):
            raise SystemExit("Orchard's predictions differ from the pandas loop's")
        rows = len(expected)
    print(
        f"{rows:,} rows in {args.files} CSV files; {args.workers} workers; {os.cpu_count()} cores"
    )
    print(f"{'':<28}{'seconds':>10}{'rows/s':>12}")
    print(f"{'pandas loop':<28}{loop_seconds:>10.2f}{rows / loop_seconds:>12,.0f}")
    print(f"{'Orchard batch endpoint':<28}{orchard_seconds:>10.2f}{rows / orchard_seconds:>12,.0f}")
    print(f"ratio (Orchard / loop, rows/s): {loop_seconds / orchard_seconds:.2f}x")


if __name__ == "__main__":
    main()
