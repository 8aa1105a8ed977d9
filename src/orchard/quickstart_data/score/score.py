"""Score Iris flowers: the scoring script `orchard quickstart` deploys to an online
endpoint. It is written as Azure ML's are: `init()` loads the model from
AZUREML_MODEL_DIR once, `run()` scores each request's JSON body."""

import json
import os
import pickle
from typing import Any

import pandas as pd

model: Any = None


def init() -> None:
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "model.pkl"), "rb") as f:
        model = pickle.load(f)


def run(raw_data: str) -> list[Any]:
    rows = pd.DataFrame(json.loads(raw_data)["data"])
    predicted: list[Any] = model.predict(rows).tolist()
    return predicted
