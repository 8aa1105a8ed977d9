"""The one exception tree. Every error a user can cause is an ``OrchardError``.

Each class carries a stable ``code`` (clients match on it) and the HTTP status the
server answers with. The CLI prints ``message`` and exits non-zero; anything that is
not an ``OrchardError`` reaching the top is a bug.
"""

from __future__ import annotations

from typing import Any


class OrchardError(Exception):
    code = "ORCHARD_ERROR"
    http_status = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(OrchardError):
    """Input that is malformed, of the wrong type, or outside its allowed values."""

    code = "VALIDATION_ERROR"
    http_status = 400


class SpecError(ValidationError):
    """A YAML spec that cannot be read or does not fit its schema; names file and field."""

    code = "INVALID_SPEC"


class UnsafePath(ValidationError):
    """A path that would escape its datastore or snapshot."""

    code = "UNSAFE_PATH"


class NotFound(OrchardError):
    code = "NOT_FOUND"
    http_status = 404


class Conflict(OrchardError):
    """The thing already exists, or changing it would break an immutability rule."""

    code = "CONFLICT"
    http_status = 409


class ImmutableField(Conflict):
    code = "IMMUTABLE_FIELD"


class PermissionDenied(OrchardError):
    code = "PERMISSION_DENIED"
    http_status = 403


class Unauthenticated(OrchardError):
    code = "UNAUTHENTICATED"
    http_status = 401


class StoreUnavailable(OrchardError):
    """The metadata store cannot be opened (bad URL, server down, newer schema)."""

    code = "STORE_UNAVAILABLE"
    http_status = 503
