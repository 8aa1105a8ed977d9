"""What a scorer is, the OpenAPI document around it, and the scorer for an Azure scoring script.

A scorer turns one request into one reply and never raises: the worker runs it on a thread of
its pool and only moves bytes. The scoring-script scorer does what Azure's inference server
(azureml-inference-server-http) does with `init()` and `run()`, so scripts run unchanged:

- `run` is called with the body as a str, or, when it is decorated with inference-schema's
  `@input_schema`, with the keys of the JSON body as keyword arguments;
- a `request_headers` parameter of `run` receives the request's headers;
- whatever `run` returns is sent through `json.dumps`, a str included (Azure sends a str as
  a JSON string, so clients written for Azure keep working); a Flask/Werkzeug response (an
  `AMLResponse`) is sent as it is, with its status and headers;
- GET /score passes the query parameters as the input, each parsed as JSON where it parses.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

log = logging.getLogger("orchard.serving.worker")

JSON = "application/json"
# The module name Azure's server imports the scoring script under; inference-schema keys its
# schemas by module and function name, so keeping it keeps those keys the same.
SCRIPT_MODULE = "entry_module"
RUN_FAILED = {"x-ms-run-function-failed": "True"}
SWAGGER_VERSIONS = {"2": "2.0", "2.0": "2.0", "3": "3.0", "3.0": "3.0", "3.1": "3.1"}
OWN_SWAGGER_FILES = {
    "2.0": ("swagger.json", "swagger2.json"),
    "3.0": ("swagger3.json",),
    "3.1": ("swagger3.1.json",),
}
FREE_FORM: dict[str, Any] = {"type": "object", "example": {}}
FAILED = "The service failed to execute due to an error."
BEARER = {"type": "apiKey", "name": "Authorization", "in": "header"}


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    body: bytes
    media_type: str | None  # lower-cased, without parameters: "application/json"
    query: list[tuple[str, str]] | None = None  # set for GET /score only
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    media_type: str | None = JSON
    headers: Mapping[str, str] | None = None


class Scorer(Protocol):
    def score(self, request: ScoreRequest) -> Reply: ...

    def swagger(self, version: str) -> dict[str, Any] | None:
        """The OpenAPI document for a version in SWAGGER_VERSIONS' values; None if unsupported."""
        ...


class StartupError(Exception):
    """A script or model that cannot be served; the message says why."""


class BadInput(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def error_reply(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Reply:
    # Azure's error body is {"message": ...}; Orchard's adds a stable code. Both read it.
    body = json.dumps({"code": code, "message": message}).encode()
    return Reply(status, body, JSON, headers)


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_jsonable).encode()


def _jsonable(value: Any) -> Any:
    """numpy arrays and scalars, pandas frames and series, dates: what `run` often returns."""
    if hasattr(value, "columns") and hasattr(value, "to_dict"):
        return value.to_dict(orient="records")
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"an object of type {type(value).__name__} is not JSON serializable")


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadInput(400, "INVALID_JSON", "The body is empty; a JSON document was expected.")
    try:
        return json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise BadInput(400, "INVALID_JSON", f"The body is not valid JSON: {exc}") from None


def is_json(media_type: str | None) -> bool:
    return media_type is not None and (media_type == JSON or media_type.endswith("+json"))


def query_input(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Azure's reading of GET /score: a repeated key makes a list; a value is JSON if it parses."""
    grouped: dict[str, list[Any]] = {}
    for key, raw in pairs:
        grouped.setdefault(key, []).append(_maybe_json(raw))
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def _maybe_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def build_swagger(
    version: str, title: str, service_input: dict[str, Any], service_output: dict[str, Any]
) -> dict[str, Any]:
    """Azure's document: GET / (health), POST /score (ServiceInput -> ServiceOutput)."""
    error = {"type": "object", "properties": {"message": {"type": "string"}}}
    schemas = {
        "ServiceInput": service_input,
        "ServiceOutput": service_output,
        "ErrorResponse": error,
    }
    info = {
        "title": title,
        "description": f"API specification for the Azure Machine Learning service {title}",
        "version": "1.0",
    }
    if version == "2.0":
        return _swagger2(info, schemas)
    document = _openapi3(info, schemas)
    document["openapi"] = "3.1.0" if version == "3.1" else "3.0.3"
    return document


def _swagger2(info: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/definitions/{name}"}

    failed = {"description": FAILED, "schema": ref("ErrorResponse")}
    score = {
        "operationId": "RunMLService",
        "description": "Run web service's model and get the prediction output",
        "security": [{"Bearer": []}],
        "parameters": [
            {"name": "serviceInputPayload", "in": "body", "schema": ref("ServiceInput")}
        ],
        "responses": {
            "200": {"description": "The prediction.", "schema": ref("ServiceOutput")},
            "default": failed,
        },
    }
    health = {
        "operationId": "ServiceHealthCheck",
        "responses": {"200": {"description": "Healthy", "schema": {"type": "string"}}},
    }
    return {
        "swagger": "2.0",
        "info": info,
        "schemes": ["http", "https"],
        "consumes": [JSON],
        "produces": [JSON],
        "securityDefinitions": {"Bearer": BEARER},
        "paths": {"/": {"get": health}, "/score": {"post": score}},
        "definitions": schemas,
    }


def _openapi3(info: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    def body(name: str) -> dict[str, Any]:
        return {"content": {JSON: {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    score = {
        "operationId": "RunMLService",
        "description": "Run web service's model and get the prediction output",
        "requestBody": body("ServiceInput"),
        "responses": {
            "200": {"description": "The prediction.", **body("ServiceOutput")},
            "default": {"description": FAILED, **body("ErrorResponse")},
        },
    }
    health = {
        "operationId": "ServiceHealthCheck",
        "responses": {
            "200": {
                "description": "Healthy",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    }
    return {
        "openapi": "3.0.3",
        "info": info,
        "security": [{"Bearer": []}],
        "paths": {"/": {"get": health}, "/score": {"post": score}},
        "components": {"schemas": schemas, "securitySchemes": {"Bearer": BEARER}},
    }


class ScriptScorer:
    """An imported scoring script whose `init()` has run."""

    def __init__(self, module: ModuleType, code: Path, title: str) -> None:
        self.code = code
        self.title = title
        self.run: Callable[..., Any] = module.run
        self.inputs, self.takes_headers = _run_parameters(self.run)
        self.schema_util = _inference_schema(self.run)

    @classmethod
    def start(cls, code: Path, script: str, title: str) -> ScriptScorer:
        """Import the script from `code` (made the working directory) and call its init()."""
        module = _import_script(code, script)
        scorer = cls(module, code, title)
        begun = time.perf_counter()
        module.init()
        log.info("init() finished in %.2f s", time.perf_counter() - begun)
        return scorer

    def score(self, request: ScoreRequest) -> Reply:
        try:
            arguments = self._arguments(request)
        except BadInput as exc:
            return error_reply(exc.status, exc.code, str(exc))
        if self.takes_headers:
            arguments["request_headers"] = dict(request.headers)
        begun = time.perf_counter()
        try:
            result = self.run(**arguments)
        except Exception as exc:
            log.exception("run() raised")
            message = f"An unexpected error occurred in scoring script: {_describe(exc)}"
            return error_reply(500, "RUN_FAILED", message, RUN_FAILED)
        elapsed = {"x-ms-run-fn-exec-ms": f"{(time.perf_counter() - begun) * 1000:.3f}"}
        return _reply_for(result, elapsed)

    def swagger(self, version: str) -> dict[str, Any] | None:
        own = _own_swagger(self.code, version)
        if own is not None:
            return own
        if self.schema_util is None:
            return build_swagger(version, self.title, FREE_FORM, FREE_FORM)
        if version not in self.schema_util.get_supported_versions(self.run):
            return None
        service_input = self.schema_util.get_input_schema(self.run)
        service_output = self.schema_util.get_output_schema(self.run)
        return build_swagger(version, self.title, service_input, service_output)

    def _arguments(self, request: ScoreRequest) -> dict[str, Any]:
        if self.schema_util is not None:
            return self._keyword_arguments(request)
        name = self.inputs[0].name
        if request.query is not None:
            return {name: json.dumps(query_input(request.query))}
        if is_json(request.media_type):
            parse_json(request.body)  # refuse a body that says JSON and is not, before run()
        try:
            return {name: request.body.decode("utf-8")}
        except UnicodeDecodeError as exc:
            raise BadInput(400, "INVALID_INPUT", f"The body is not UTF-8 text: {exc}") from None

    def _keyword_arguments(self, request: ScoreRequest) -> dict[str, Any]:
        """inference-schema: the JSON body's keys are run()'s arguments (it converts them)."""
        if request.query is not None:
            body: Any = query_input(request.query)
        elif not is_json(request.media_type):
            message = "Expects Content-Type to be application/json"
            raise BadInput(415, "UNSUPPORTED_MEDIA_TYPE", message)
        else:
            body = parse_json(request.body)
        if not isinstance(body, dict):
            raise BadInput(400, "INVALID_INPUT", "The body should be a JSON object.")
        arguments = {}
        for parameter in self.inputs:
            value = body.get(parameter.name, parameter.default)
            if value is inspect.Parameter.empty:
                message = f"A value is not provided for the {parameter.name!r} parameter."
                raise BadInput(400, "INVALID_INPUT", message)
            arguments[parameter.name] = value
        return arguments


def _import_script(code: Path, script: str) -> ModuleType:
    path = (code / script).resolve()
    if not path.is_file():
        raise StartupError(f"the scoring script {script!r} is not a file under {code}")
    # Azure runs the script from its code folder: relative opens and sibling imports work.
    os.chdir(code)
    sys.path.insert(0, str(code))
    spec = importlib.util.spec_from_file_location(SCRIPT_MODULE, path)
    if spec is None or spec.loader is None:
        raise StartupError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[SCRIPT_MODULE] = module  # dataclasses and pickle look a module up by name
    spec.loader.exec_module(module)
    for name in ("init", "run"):
        if not callable(getattr(module, name, None)):
            raise StartupError(f"the scoring script {script} does not define a {name}() function")
    return module


def _run_parameters(run: Callable[..., Any]) -> tuple[list[inspect.Parameter], bool]:
    parameters = list(inspect.signature(run).parameters.values())
    allowed = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if any(p.kind not in allowed for p in parameters):
        raise StartupError("run() cannot take positional-only arguments, *args or **kwargs")
    inputs = [p for p in parameters if p.name != "request_headers"]
    if not inputs:
        raise StartupError("run() must take an argument for the input data")
    return inputs, len(inputs) < len(parameters)


def _inference_schema(run: Callable[..., Any]) -> Any | None:
    """inference-schema's util module when `run` carries its decorators, else None.

    A script that uses the decorators has imported the package, so it is in sys.modules;
    looking there never imports it for the scripts that do not.
    """
    util = sys.modules.get("inference_schema.schema_util")
    if util is not None and util.is_schema_decorated(run):
        return util
    return None


def _own_swagger(code: Path, version: str) -> dict[str, Any] | None:
    """A swagger file shipped next to the script wins, as on Azure."""
    for name in OWN_SWAGGER_FILES[version]:
        path = code / name
        if path.is_file():
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return document
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _reply_for(result: Any, headers: dict[str, str]) -> Reply:
    if _is_http_response(result):
        return _passed_through(result, headers)
    try:
        return Reply(200, dumps(result), JSON, headers)
    except (TypeError, ValueError) as exc:
        log.error("run() returned a value that JSON cannot hold: %s", exc)
        message = f"run() returned a value that is not JSON serializable: {exc}"
        return error_reply(500, "RUN_FAILED", message, {**headers, **RUN_FAILED})


def _is_http_response(result: Any) -> bool:
    # AMLResponse is a flask.Response; duck typing keeps Flask out of the worker.
    return all(hasattr(result, name) for name in ("status_code", "headers", "get_data"))


def _passed_through(response: Any, headers: dict[str, str]) -> Reply:
    # Its own Content-Type goes as a header, verbatim: as a media type it would gain a charset.
    passed = {str(k): str(v) for k, v in response.headers.items() if k.lower() != "content-length"}
    status = int(response.status_code)
    if status >= 500:
        passed.update(RUN_FAILED)
    return Reply(status, bytes(response.get_data()), None, {**passed, **headers})
