"""One mapping from Orchard's exception tree to MLflow's error shape.

Every error answers `{"error_code": ..., "message": ...}` with a 4xx status that MLflow
clients understand. Anything that is not an `OrchardError` is a bug: it is logged and
answers 500 `INTERNAL_ERROR` in the same shape.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from orchard.errors import (
    Conflict,
    ImmutableField,
    NotFound,
    OrchardError,
    PermissionDenied,
    StoreUnavailable,
    Unauthenticated,
    ValidationError,
)
from orchard.server.mlflow.messages import MalformedRequest, MlflowJSONResponse
from orchard.server.paths import ORIGINAL_PATH_KEY

logger = logging.getLogger("orchard.server")

# First match wins: subclasses before their parents.
ERROR_CODES: list[tuple[type[OrchardError], str, int]] = [
    (MalformedRequest, "BAD_REQUEST", 400),
    (ImmutableField, "INVALID_PARAMETER_VALUE", 400),
    (ValidationError, "INVALID_PARAMETER_VALUE", 400),
    (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    # MLflow answers 400 for a name that is taken.
    (Conflict, "RESOURCE_ALREADY_EXISTS", 400),
    (PermissionDenied, "PERMISSION_DENIED", 403),
    (Unauthenticated, "UNAUTHENTICATED", 401),
    (StoreUnavailable, "TEMPORARILY_UNAVAILABLE", 503),
]


def error_response(error_code: str, message: str, status: int) -> Response:
    return MlflowJSONResponse({"error_code": error_code, "message": message}, status_code=status)


def orchard_error(error: OrchardError) -> Response:
    for cls, error_code, status in ERROR_CODES:
        if isinstance(error, cls):
            return error_response(error_code, error.message, status)
    status = error.http_status if 400 <= error.http_status < 600 else 500
    return error_response(error.code if status < 500 else "INTERNAL_ERROR", error.message, status)


async def _on_orchard_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, OrchardError)
    return orchard_error(error)


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code in (404, 405):
        path = request.scope.get(ORIGINAL_PATH_KEY, request.url.path)
        message = f"No {request.method} endpoint {path} on this server."
        return error_response("ENDPOINT_NOT_FOUND", message, error.status_code)
    return error_response("BAD_REQUEST", str(error.detail), error.status_code)


async def _on_request_validation(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return error_response(
        "INVALID_PARAMETER_VALUE", f"Invalid request ({where}): {first.get('msg', '')}", 400
    )


async def _on_bug(request: Request, error: Exception) -> Response:
    logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return error_response(
        "INTERNAL_ERROR", "An internal error occurred; the server's log has the details.", 500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OrchardError, _on_orchard_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(Exception, _on_bug)
