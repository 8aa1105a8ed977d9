"""Request messages in, JSON out, the way MLflow's clients speak.

Clients send JSON bodies for POST, PATCH and DELETE and query strings for GET (some send
a JSON body with GET too): `parsed(Model)` accepts both, and turns a parsing problem
into a 400 with MLflow's wording, which clients match on. Field names may be given in
snake_case or, as protobuf's JSON allows, camelCase. Replies leave out empty fields,
as protobuf's JSON does, and write non-finite numbers as "NaN" and "Infinity".
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pydantic
from fastapi import Request
from pydantic import AliasGenerator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response

from orchard.errors import ValidationError

M = TypeVar("M", bound="Message")
_DOCS_HINT = " See the API docs for more information about request parameters."


class MalformedRequest(ValidationError):
    """A body that is not JSON, or not a JSON object."""

    code = "BAD_REQUEST"


class Message(BaseModel):
    """A request message: unknown fields are named errors, as in every Orchard spec."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=to_camel),
        validate_by_name=True,
        validate_by_alias=True,
        loc_by_alias=False,
    )


class MlflowJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:  # most replies hold no NaN or infinity: no need to walk them first
            text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except ValueError:
            text = json.dumps(
                _finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
            )
        return text.encode("utf-8")


def reply(**fields: Any) -> Response:
    """A JSON reply; entities are dumped without their empty fields."""
    body = {key: _plain(value) for key, value in fields.items() if value is not None}
    return MlflowJSONResponse(body)


def parsed(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A FastAPI dependency that reads and validates `model` from the request."""

    async def read(request: Request) -> M:
        body = await request.body()
        if request.method not in ("GET", "DELETE") and body[:1] == b"{":
            # The usual request, one JSON object, parsed and validated in one pass (a batch
            # of a thousand metrics is most of a request's cost otherwise).
            try:
                message = model.model_validate_json(body)
            except pydantic.ValidationError as error:
                if error.errors()[0]["type"] != "json_invalid":
                    raise ValidationError(_message(error)) from None
            else:
                if message.model_fields_set:  # an empty object reads the query string
                    return message
        return validate(model, await _fields(request, model))

    return read


def from_query(request: Request, model: type[M]) -> M:
    """`model` from the query string alone (for routes whose body is a file)."""
    return validate(model, _query(request.query_params, model))


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise ValidationError(_message(error)) from None


async def _fields(request: Request, model: type[Message]) -> dict[str, Any]:
    body = await request.body()
    data: dict[str, Any] = {}
    if body.strip():
        try:
            value = json.loads(body)
            if isinstance(value, str):  # older clients double-encode their JSON
                value = json.loads(value)
        except ValueError as error:
            raise MalformedRequest(f"Malformed JSON in request body: {error}") from None
        if not isinstance(value, dict):
            raise MalformedRequest(
                f"The request body must be a JSON object, got {type(value).__name__}"
            )
        data = value
    if request.method in ("GET", "DELETE") or not data:
        data = {**_query(request.query_params, model), **data}
    return data


def _query(params: QueryParams, model: type[Message]) -> dict[str, Any]:
    lists = {
        spelling
        for name, field in model.model_fields.items()
        if _is_list(field.annotation)
        for spelling in (name, str(field.validation_alias or name))
    }
    return {key: params.getlist(key) if key in lists else params[key] for key in params}


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _message(error: pydantic.ValidationError) -> str:
    first = error.errors()[0]
    param = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "missing":
        return f"Missing value for required parameter '{param}'." + _DOCS_HINT
    if first["type"] == "extra_forbidden":
        return f"Invalid parameter '{param}': this request has no such field." + _DOCS_HINT
    given = first.get("input")
    try:
        shown = json.dumps(given)
    except (TypeError, ValueError):
        shown = repr(given)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return (
        f"Invalid value {shown} for parameter '{param}' supplied. "
        f"Hint: Value was of type '{type(given).__name__}' ({first['msg']})." + _DOCS_HINT
    )


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float) or value is None:
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", exclude_none=True)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class KeyValue(Message):
    """A tag or param as MLflow sends them."""

    key: str
    value: str = ""


_VIEW_TYPES = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}


def view_name(value: str | int | None) -> str:
    """MLflow's ViewType, sent by name or by number."""
    if value is None or value == "":
        return "ACTIVE_ONLY"
    if isinstance(value, int) or str(value).isdigit():
        return _VIEW_TYPES.get(int(value), "ACTIVE_ONLY")
    name = str(value).upper()
    if name not in _VIEW_TYPES.values():
        raise ValidationError(
            f"Invalid value {value!r} for parameter 'view_type': use ACTIVE_ONLY, DELETED_ONLY "
            "or ALL"
        )
    return name
