"""The scoring script of a batch deployment of an MLflow model that names none, as Azure
generates it: each file of a mini-batch (CSV, TSV, Parquet, JSON or JSON lines) is read
into a DataFrame and scored with the model's `pyfunc` flavour; each prediction is one row
`<row>,<prediction>,<file name>` of predictions.csv, read back on Azure with
`pd.read_csv(path, names=["row", "prediction", "file"])`. A tabular input's mini-batch
is a DataFrame already, and its rows name no file.

It runs in the workers, under the deployment environment's interpreter: it needs mlflow
and pandas there, and nothing of Orchard's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

model: Any = None


def init() -> None:
    global model
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(str(_model_path()))


def run(mini_batch: Any) -> list[str]:
    import pandas as pd

    if isinstance(mini_batch, pd.DataFrame):
        return _rows(mini_batch, "")
    rows: list[str] = []
    for file in mini_batch:
        path = Path(file)
        rows += _rows(_read(path), path.name)
    return rows


def _model_path() -> Path:
    """The folder with the MLmodel file: the model under AZUREML_MODEL_DIR, or that folder
    itself."""
    root = Path(os.environ["AZUREML_MODEL_DIR"])
    for candidate in (*sorted(p for p in root.iterdir() if p.is_dir()), root):
        if (candidate / "MLmodel").is_file():
            return candidate.resolve()  # mlflow refuses a link that leads outside
    raise FileNotFoundError(f"no MLmodel file in {root} or the folders in it")


def _read(path: Path) -> Any:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t")
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".json", ".jsonl"):
        return pd.read_json(path, lines=suffix == ".jsonl")
    raise ValueError(
        f"{path.name}: an MLflow batch deployment reads .csv, .tsv, .parquet, .json and "
        ".jsonl files; give a scoring script (code_configuration) for other files"
    )


def _rows(data: Any, file_name: str) -> list[str]:
    predictions = model.predict(data)
    index = list(getattr(data, "index", range(len(data))))
    values = _values(predictions)
    if len(values) != len(index):
        raise ValueError(
            f"{file_name or 'mini-batch'}: the model gave {len(values)} predictions for "
            f"{len(index)} rows"
        )
    import pandas as pd

    rows = pd.DataFrame({"row": index, "prediction": values, "file": file_name})
    return rows.to_csv(header=False, index=False, lineterminator="\n").splitlines()


def _values(predictions: Any) -> list[Any]:
    """One value per row: a scalar, or for a model with several outputs their JSON."""
    if hasattr(predictions, "to_dict") and hasattr(predictions, "columns"):
        if len(predictions.columns) == 1:
            predictions = predictions.iloc[:, 0]
        else:
            return [json.dumps(r, default=str) for r in predictions.to_dict("records")]
    listed = predictions.tolist() if hasattr(predictions, "tolist") else list(predictions)
    return [json.dumps(v, default=str) if isinstance(v, (list, dict)) else v for v in listed]
