"""What the workers' environment says: as Azure's batch scoring sets it, where to write
custom outputs (AZUREML_BI_OUTPUT_PATH) and where the deployment's model is
(AZUREML_MODEL_DIR, the model under its own name, as Azure mounts it); and, unless the
job sets it, OMP_NUM_THREADS at the cores each worker has, so that workers whose
libraries use OpenMP (scikit-learn, numpy's BLAS) do not oversubscribe the machine, as
Ray's workers do not."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def worker_environment(
    output: Path, model: str | None, model_folder: str, workers: int
) -> Iterator[None]:
    """Set for the workers the driver starts in the block (they inherit it)."""
    names = ("AZUREML_BI_OUTPUT_PATH", "AZUREML_MODEL_DIR", "OMP_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    if saved["OMP_NUM_THREADS"] is None:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    output.mkdir(parents=True, exist_ok=True)
    os.environ["AZUREML_BI_OUTPUT_PATH"] = str(output)
    layout = _model_layout(Path(model), model_folder) if model else None
    if layout is not None:
        os.environ["AZUREML_MODEL_DIR"] = str(layout)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if layout is not None:
            shutil.rmtree(layout, ignore_errors=True)  # links only: the model stays


def _model_layout(model: Path, folder: str) -> Path:
    """A folder holding the model as `<folder>`; a folder model's entries are also linked
    at the top, where older scripts look for them."""
    if not model.exists():
        raise FileNotFoundError(f"--model-dir: no such file or folder {model}")
    root = Path(tempfile.mkdtemp(prefix="azureml-models-"))
    (root / folder).symlink_to(model.resolve(), target_is_directory=model.is_dir())
    if model.is_dir():
        for entry in model.iterdir():
            if not (root / entry.name).exists():
                (root / entry.name).symlink_to(entry.resolve(), entry.is_dir())
    return root
