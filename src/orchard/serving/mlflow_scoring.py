"""The scorer for an MLflow model deployed with no scoring script (Azure's "no-code" deployment).

Two dialects reach the same `pyfunc` model:

- Azure's: `{"input_data": ...}`, read the way Azure's generated MLflow scoring script reads it
  (a pandas "split" object becomes a DataFrame, a list of records a DataFrame, any other list
  an array, any other object named tensors), answered with the bare predictions;
- `mlflow models serve`'s: `dataframe_split`, `dataframe_records`, `instances`, `inputs` (and
  text/csv), parsed by MLflow's own serving code, answered as `{"predictions": ...}`.

A top-level `params` object goes to `predict(..., params=...)` in both. Input the model cannot
take (a missing key, columns that do not match its signature, bad JSON) is a 400 that says why,
as MLflow's server answers it: a prediction error is the request's fault until shown otherwise.
"""

from __future__ import annotations

import importlib
import inspect
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orchard.serving.scoring import (
    FREE_FORM,
    JSON,
    BadInput,
    Reply,
    ScoreRequest,
    StartupError,
    build_swagger,
    dumps,
    error_reply,
    is_json,
    parse_json,
    query_input,
)

log = logging.getLogger("orchard.serving.worker")

AZURE_KEY = "input_data"
MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
KEYS = (AZURE_KEY, *MLFLOW_KEYS)
SPLIT_KEYS = {"columns", "data", "index"}
CONFORMING = "orchard.conforming"  # a frame _float_frame built to the signature
MESSAGE_LIMIT = 2000  # MLflow's messages quote the input; a big batch must not echo back whole
JSON_TYPES = {
    "boolean": ({"type": "boolean"}, False),
    "integer": ({"type": "integer", "format": "int32"}, 0),
    "long": ({"type": "integer", "format": "int64"}, 0),
    "float": ({"type": "number", "format": "float"}, 0.0),
    "double": ({"type": "number", "format": "double"}, 0.0),
    "string": ({"type": "string"}, ""),
    "binary": ({"type": "string", "format": "byte"}, ""),
    "datetime": ({"type": "string", "format": "date-time"}, "1970-01-01T00:00:00"),
    # A tensor spec's type is a numpy dtype, named the numpy way.
    "bool": ({"type": "boolean"}, False),
    "int32": ({"type": "integer", "format": "int32"}, 0),
    "int64": ({"type": "integer", "format": "int64"}, 0),
    "float32": ({"type": "number", "format": "float"}, 0.0),
    "float64": ({"type": "number", "format": "double"}, 0.0),
}


class MlflowScorer:
    def __init__(self, model_dir: Path, title: str) -> None:
        if not (model_dir / "MLmodel").is_file():
            raise StartupError(f"{model_dir} is not an MLflow model: it has no MLmodel file")
        # MLflow comes with the deployment's environment, not with Orchard: found at run time.
        pyfunc = importlib.import_module("mlflow.pyfunc")
        self.serving = importlib.import_module("mlflow.pyfunc.scoring_server")
        self.convert = importlib.import_module("mlflow.utils.proto_json_utils")
        self.model = pyfunc.load_model(str(model_dir))
        self.schema = self.model.metadata.get_input_schema()
        self.output_schema = self.model.metadata.get_output_schema()
        self.columns = _column_names(self.schema)
        self.sorted_columns = sorted(self.columns or [])
        self.float_dtype = _float_dtype(self.schema) if self.columns else None
        self.takes_params = "params" in inspect.signature(self.model.predict).parameters
        self.direct = _direct_predictor(self.model)
        self.title = title
        log.info("MLflow model loaded from %s (signature: %s)", model_dir, self.schema)

    def score(self, request: ScoreRequest) -> Reply:
        try:
            data, params, wrapped = self._model_input(request)
        except BadInput as exc:
            return error_reply(exc.status, exc.code, _short(str(exc)))
        except Exception as exc:  # MLflow's parsers raise MlflowException for bad shapes
            return error_reply(400, "INVALID_INPUT", _short(_message(exc)))
        try:
            predictions = self._predict(data, params)
        except Exception as exc:
            return self._prediction_failed(exc)
        jsonable = self.convert._get_jsonable_obj(predictions, pandas_orient="records")
        return Reply(200, dumps({"predictions": jsonable} if wrapped else jsonable), JSON)

    def swagger(self, version: str) -> dict[str, Any] | None:
        service_input, service_output = FREE_FORM, FREE_FORM
        if self.schema is not None:
            service_input = _input_schema(self.schema, self.columns)
        if self.output_schema is not None:
            service_output = {"type": "array", "items": _items(self.output_schema)}
        return build_swagger(version, self.title, service_input, service_output)

    def _model_input(self, request: ScoreRequest) -> tuple[Any, Any, bool]:
        """The model's input, its params, and whether the answer is MLflow's envelope."""
        if request.query is None and request.media_type == "text/csv":
            text = io.StringIO(request.body.decode("utf-8"))
            return self.serving.parse_csv_input(text, schema=self.schema), None, True
        if request.query is not None:
            body: Any = query_input(request.query)
        elif request.media_type is not None and not is_json(request.media_type):
            message = "Expects Content-Type to be application/json"
            raise BadInput(415, "UNSUPPORTED_MEDIA_TYPE", message)
        else:
            body = parse_json(request.body)
        key = _format_key(body)
        params = body.get("params")
        if key == AZURE_KEY:
            return self._azure_input(body[AZURE_KEY]), params, False
        if key == "dataframe_split":
            return self._split_frame(body[key]), params, True
        parsed = self.serving.infer_and_parse_data({key: body[key]}, self.schema)
        return parsed, params, True

    def _azure_input(self, value: Any) -> Any:
        """As Azure's MLflow scoring script reads `input_data`; frames are cast to the signature's
        types first, as MLflow's server casts them (JSON has no int/float distinction)."""
        if isinstance(value, list):
            if value and all(isinstance(row, dict) for row in value):
                return self.convert.dataframe_from_parsed_json(value, "records", self.schema)
            return self._rows(value)
        if isinstance(value, dict):
            if "columns" in value and "data" in value:
                return self._split_frame(value)
            # Named tensors, cast by MLflow's reading of `inputs` (Azure's np.asarray is not).
            return self.convert.parse_inputs_data(value, self.schema)
        message = f"input_data must be a JSON object or a list, not {type(value).__name__}"
        raise BadInput(400, "INVALID_INPUT", message)

    def _rows(self, rows: list[Any]) -> Any:
        """A plain list is an array on Azure. Where the signature names columns, rows exactly as
        wide become a frame with those columns, which Azure's script would have refused."""
        names = self.columns
        if names and rows and all(isinstance(r, list) and len(r) == len(names) for r in rows):
            return self._split_frame({"columns": names, "data": rows})
        return np.asarray(rows)

    def _split_frame(self, split: Any) -> Any:
        """A pandas "split" object as a frame of the signature's types."""
        frame = self._float_frame(split)
        if frame is None:  # MLflow's own cast, so its answers and messages stay MLflow's
            frame = self.convert.dataframe_from_parsed_json(split, "split", self.schema)
        return frame

    def _float_frame(self, split: Any) -> pd.DataFrame | None:
        """The common case in one numpy conversion instead of a cast per column: a signature
        of float columns only, and all of them sent. None where that does not hold."""
        if self.float_dtype is None or not isinstance(split, dict) or set(split) - SPLIT_KEYS:
            return None
        columns = split.get("columns")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            return None
        if sorted(columns) != self.sorted_columns:
            return None
        try:
            values = np.asarray(split["data"], dtype=self.float_dtype)
            if values.ndim != 2 or values.shape[1] != len(columns):
                return None
            frame = pd.DataFrame(values, columns=columns, index=split.get("index"))
        except (TypeError, ValueError):
            return None
        if columns != self.columns:  # the signature's order, as its enforcement gives
            frame = frame.reindex(columns=self.columns)
        frame.attrs[CONFORMING] = True
        return frame

    def _predict(self, data: Any, params: Any) -> Any:
        if self.direct is not None and params is None and _conforming(data):
            return self.direct(data)
        if self.takes_params:
            return self.model.predict(data, params=params)
        return self.model.predict(data)

    def _prediction_failed(self, exc: Exception) -> Reply:
        if hasattr(exc, "get_http_status_code"):  # MlflowException: schema enforcement said no
            log.warning("input refused by the model's signature: %s", _short(_message(exc), 300))
            status = int(exc.get_http_status_code())
            message = _message(exc)
        else:
            log.exception("predict() raised")
            status = 400
            message = f"The model could not score this input: {type(exc).__name__}: {exc}"
        return error_reply(status if 400 <= status < 500 else 400, "INVALID_INPUT", _short(message))


def _direct_predictor(model: Any) -> Any:
    """The scikit-learn flavour's own predict, for frames already of the signature's columns
    and types, which pyfunc's schema enforcement would pass unchanged: it halves the time of
    a one-row prediction. None for every other flavour (and if MLflow's internals moved)."""
    flavor = model.metadata.flavors.get("python_function", {})
    implementation = getattr(model, "_model_impl", None)
    if flavor.get("loader_module") != "mlflow.sklearn" or implementation is None:
        return None
    predict = getattr(implementation, "predict", None)
    return predict if callable(predict) else None


def _conforming(data: Any) -> bool:
    return isinstance(data, pd.DataFrame) and data.attrs.get(CONFORMING) is True


def _format_key(body: Any) -> str:
    if not isinstance(body, dict):
        message = f"The body must be a JSON object with one of {_keys()}."
        raise BadInput(400, "INVALID_INPUT", message)
    present = [key for key in KEYS if key in body]
    if len(present) != 1:
        found = ", ".join(sorted(map(str, body))) or "none"
        message = f"The body must have exactly one of {_keys()}; its keys are: {found}."
        raise BadInput(400, "INVALID_INPUT", message)
    return present[0]


def _keys() -> str:
    return ", ".join(KEYS)


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", None) or exc)


def _short(message: str, limit: int = MESSAGE_LIMIT) -> str:
    return message if len(message) <= limit else message[:limit] + " ..."


def _column_names(schema: Any) -> list[str] | None:
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return None
    return [str(name) for name in schema.input_names()]


def _float_dtype(schema: Any) -> np.dtype[Any] | None:
    """The one float type of every column of the signature, if it has one."""
    dtypes: set[np.dtype[Any]] = {np.dtype(t) for t in schema.pandas_types()}
    if len(dtypes) == 1 and (dtype := dtypes.pop()).kind == "f":
        return dtype
    return None


def _input_schema(schema: Any, names: list[str] | None) -> dict[str, Any]:
    """Azure's request shape for this signature: a pandas split frame, or a tensor."""
    if names is None:
        tensor = {"type": "array", "items": {}}
        return {"type": "object", "required": [AZURE_KEY], "properties": {AZURE_KEY: tensor}}
    samples = [JSON_TYPES.get(_type_name(spec), ({}, None))[1] for spec in schema.inputs]
    frame = {
        "type": "object",
        "required": ["columns", "data"],
        "properties": {
            "columns": {"type": "array", "items": {"type": "string", "enum": names}},
            "index": {"type": "array", "items": {"type": "integer"}},
            "data": {"type": "array", "items": {"type": "array", "items": {}}},
        },
    }
    return {
        "type": "object",
        "required": [AZURE_KEY],
        "properties": {AZURE_KEY: frame},
        "example": {AZURE_KEY: {"columns": names, "index": [0], "data": [samples]}},
    }


def _items(schema: Any) -> dict[str, Any]:
    inputs = list(schema.inputs)
    if len(inputs) != 1:
        return {}
    return dict(JSON_TYPES.get(_type_name(inputs[0]), ({}, None))[0])


def _type_name(spec: Any) -> str:
    kind = getattr(spec, "type", None)
    return str(getattr(kind, "name", ""))
