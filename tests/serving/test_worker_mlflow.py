"""An MLflow model served with no scoring script: Azure's `input_data` and `mlflow models
serve`'s formats, answered with the model's own predictions; bad shapes are 400s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_worker import Worker, post, serving, start_worker

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
WHOLE = [[5, 3, 1, 0], [7, 3, 5, 2]]  # JSON integers, for a signature of double columns


@dataclass
class Served:
    worker: Worker
    columns: list[str]
    expected: list[int]  # the model's predictions for ROWS, in-process
    whole: list[int]  # and for WHOLE


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    frame = load_iris(as_frame=True).frame
    features = frame.drop(columns="target")
    model = LogisticRegression(max_iter=500).fit(features, frame["target"])
    root = tmp_path_factory.mktemp("mlflow")
    signature = infer_signature(features, model.predict(features))
    mlflow.sklearn.save_model(model, str(root / "iris-model"), signature=signature)
    columns = list(features.columns)
    expected = model.predict(pd.DataFrame(ROWS, columns=columns)).tolist()
    assert len(set(expected)) == 3  # each row its own class: a mix-up would show
    whole = model.predict(pd.DataFrame(WHOLE, columns=columns, dtype=float)).tolist()
    argv = ["--model-dir", str(root), "--mlflow-model", str(root / "iris-model")]
    with serving(root / "worker.log", *argv, "--deployment", "iris-blue") as worker:
        yield Served(worker, columns, expected, whole)


def records(served: Served) -> list[dict[str, float]]:
    return [dict(zip(served.columns, row, strict=True)) for row in ROWS]


def test_azure_input_data_as_a_pandas_split_frame_answers_a_bare_list(iris: Served) -> None:
    body = {"input_data": {"columns": iris.columns, "index": [0, 1, 2], "data": ROWS}}
    answer = post(iris.worker, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == iris.expected


def test_azure_input_data_with_its_columns_in_another_order(iris: Served) -> None:
    columns = iris.columns[::-1]
    rows = [row[::-1] for row in ROWS]
    answer = post(iris.worker, {"input_data": {"columns": columns, "data": rows}})
    assert answer.json() == iris.expected


@pytest.mark.parametrize("shape", ["records", "rows", "named tensors"])
def test_azure_input_data_in_its_other_shapes(iris: Served, shape: str) -> None:
    value: Any = {
        "records": records(iris),
        "rows": ROWS,  # in the signature's column order
        "named tensors": {c: [row[i] for row in ROWS] for i, c in enumerate(iris.columns)},
    }[shape]
    answer = post(iris.worker, {"input_data": value})
    assert answer.status_code == 200, answer.text
    assert answer.json() == iris.expected


@pytest.mark.parametrize("key", ["dataframe_split", "dataframe_records", "instances", "inputs"])
def test_mlflow_serving_formats_answer_predictions_in_its_envelope(iris: Served, key: str) -> None:
    value = {
        "dataframe_split": {"columns": iris.columns, "data": ROWS},
        "dataframe_records": records(iris),
        "instances": records(iris),
        "inputs": {c: [row[i] for row in ROWS] for i, c in enumerate(iris.columns)},
    }[key]
    answer = post(iris.worker, {key: value})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": iris.expected}


@pytest.mark.parametrize("key", ["input_data", "dataframe_split", "dataframe_records"])
def test_json_integers_are_cast_to_the_signature_s_float_columns(iris: Served, key: str) -> None:
    split = {"columns": iris.columns, "data": WHOLE}
    value = [dict(zip(iris.columns, row, strict=True)) for row in WHOLE]
    answer = post(iris.worker, {key: value if key == "dataframe_records" else split})
    assert answer.status_code == 200, answer.text
    predictions = answer.json() if key == "input_data" else answer.json()["predictions"]
    assert predictions == iris.whole


def test_text_csv_is_read_as_mlflow_serving_reads_it(iris: Served) -> None:
    lines = [",".join(iris.columns), *(",".join(map(str, row)) for row in ROWS)]
    answer = httpx.post(
        f"{iris.worker.url}/score",
        content="\n".join(lines).encode(),
        headers={"content-type": "text/csv"},
    )
    assert answer.json() == {"predictions": iris.expected}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"data": ROWS}, "exactly one of input_data"),
        ({"input_data": ROWS, "inputs": ROWS}, "input_data, inputs"),
        ({"input_data": {"columns": ["sepal length (cm)", "colour"], "data": [[1, 2]]}}, "missing"),
        ({"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": ROWS}}, "petal width"),
        ({"input_data": [[1.0, 2.0]]}, "missing inputs"),
        ({"input_data": "5.1,3.5"}, "must be a JSON object or a list"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, "split"),
        ([1, 2, 3], "must be a JSON object"),
    ],
)
def test_a_body_the_model_cannot_take_is_a_400_saying_why(
    iris: Served, body: object, named: str
) -> None:
    answer = post(iris.worker, body)
    assert answer.status_code == 400, answer.text
    assert named in answer.json()["message"]


def test_unparseable_json_is_a_400(iris: Served) -> None:
    answer = httpx.post(
        f"{iris.worker.url}/score",
        content=b'{"input_data": [[1,',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert "not valid JSON" in answer.json()["message"]


def test_swagger_describes_the_signature(iris: Served) -> None:
    document = httpx.get(f"{iris.worker.url}/swagger.json", params={"version": "3"}).json()
    assert document["info"]["title"] == "iris-blue"
    service_input = document["components"]["schemas"]["ServiceInput"]
    example = service_input["example"]["input_data"]
    assert example["columns"] == iris.columns
    assert len(example["data"][0]) == len(iris.columns)
    frame = service_input["properties"]["input_data"]["properties"]
    assert frame["columns"]["items"]["enum"] == iris.columns
    service_output = document["components"]["schemas"]["ServiceOutput"]
    assert service_output == {"type": "array", "items": {"type": "integer", "format": "int64"}}


def test_a_folder_without_an_mlmodel_file_exits_3(tmp_path: Path) -> None:
    (tmp_path / "not-a-model").mkdir()
    log = tmp_path / "worker.log"
    process, _ = start_worker(
        log, "--model-dir", str(tmp_path), "--mlflow-model", str(tmp_path / "not-a-model")
    )
    assert process.wait(timeout=60) == 3
    assert "has no MLmodel file" in log.read_text()


def test_a_conforming_frame_skips_only_the_enforcement_it_would_pass(tmp_path: Path) -> None:
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from orchard.serving.mlflow_scoring import MlflowScorer
    from orchard.serving.scoring import ScoreRequest

    frame = load_iris(as_frame=True).frame
    features = frame.drop(columns="target")
    model = LogisticRegression(max_iter=500).fit(features, frame["target"])
    signature = infer_signature(features, model.predict(features))
    mlflow.sklearn.save_model(model, str(tmp_path / "m"), signature=signature)
    scorer = MlflowScorer(tmp_path / "m", "iris")
    assert scorer.direct is not None  # the scikit-learn flavour's own predict
    columns = list(features.columns)
    split = {"columns": columns[::-1], "data": [row[::-1] for row in ROWS]}
    body = json.dumps({"dataframe_split": split}).encode()
    reply = scorer.score(ScoreRequest(body=body, media_type="application/json"))
    expected = model.predict(pd.DataFrame(ROWS, columns=columns)).tolist()
    assert reply.status == 200 and json.loads(reply.body) == {"predictions": expected}
    strings = {"dataframe_split": {"columns": columns, "data": [["x", 1, 2, 3]]}}
    refused = scorer.score(
        ScoreRequest(body=json.dumps(strings).encode(), media_type="application/json")
    )
    assert refused.status == 400  # not conforming: pyfunc's enforcement still says no
