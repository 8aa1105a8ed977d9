"""Which input and output types may be bound to each other, and literal values checked
against what a component input declares (type, enum, min, max)."""

from __future__ import annotations

from typing import Any

from orchard.entities.jobs import Input

LITERAL_TYPES = frozenset({"string", "integer", "number", "boolean"})
# Data types one may feed into another: a folder is read as an MLTable or a model folder.
_DATA_COMPATIBLE = {
    "uri_folder": {"mltable", "mlflow_model", "custom_model", "triton_model"},
    "mltable": {"uri_folder"},
    "mlflow_model": {"uri_folder", "custom_model"},
    "custom_model": {"uri_folder", "mlflow_model"},
    "triton_model": {"uri_folder", "custom_model"},
}


def compatible(source: str, target: str) -> bool:
    """Whether a value of type `source` may bind an input of type `target`."""
    if source == target or (target == "string" and source in LITERAL_TYPES):
        return True
    if source in LITERAL_TYPES or target in LITERAL_TYPES:
        return source == "integer" and target == "number"
    return target in _DATA_COMPATIBLE.get(source, set())


def literal_problem(value: Any, declared: Input) -> str | None:
    """Why a literal value does not fit a declared input, or None when it does."""
    kind = declared.type
    try:
        typed = _coerce(value, kind)
    except ValueError:
        return f"{value!r} is not a {'an integer' if kind == 'integer' else kind}"
    if (
        declared.enum is not None
        and typed not in declared.enum
        and str(typed) not in map(str, declared.enum)
    ):
        return f"{value!r} is not one of {', '.join(map(repr, declared.enum))}"
    if isinstance(typed, int | float) and not isinstance(typed, bool):
        if declared.min is not None and typed < declared.min:
            return f"{value!r} is below its min {declared.min:g}"
        if declared.max is not None and typed > declared.max:
            return f"{value!r} is above its max {declared.max:g}"
    return None


def _coerce(value: Any, kind: str) -> Any:
    if kind == "integer":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(str(value)) if not isinstance(value, float) else int(value)
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    return value
