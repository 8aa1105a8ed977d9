"""Load YAML specs into entities, naming file and field in every complaint.

Published Azure ML specs carry fields a given version of the schema does not know, and
Azure's CLI accepts them with a warning; so do we, unless strict (``--strict`` or
``ORCHARD_STRICT``), where an unknown field is an error.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml
from pydantic import BaseModel

from orchard.errors import SpecError

E = TypeVar("E", bound=BaseModel)


class UnknownFieldWarning(UserWarning):
    """A spec field Orchard does not know; ignored unless strict."""


def strict_default() -> bool:
    return os.environ.get("ORCHARD_STRICT", "").lower() in {"1", "true", "yes", "on"}


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, or raise a SpecError naming the file (and line) at fault."""
    if not path.is_file():
        raise SpecError(f"{path}: spec file not found")
    try:
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}{where}: malformed YAML: {problem}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a UTF-8 text file") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SpecError(f"{path}: a spec must be a YAML mapping, got {type(body).__name__}")
    return body


def apply_overrides(body: dict[str, Any], assignments: Iterable[str], source: str) -> None:
    """Apply `--set a.b=value` assignments in place; values are read as YAML scalars."""
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"{source}: --set {assignment!r}: expected key=value")
        target = body
        *parents, leaf = key.strip().split(".")
        for part in parents:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise SpecError(f"{source}: --set {key}: {part!r} is not a mapping")
            target = child
        target[leaf] = yaml.safe_load(raw) if raw.strip() else raw


def validate_spec(
    model: type[E],
    body: Mapping[str, Any],
    *,
    source: str,
    strict: bool | None = None,
) -> E:
    """Validate `body`, warning about (or, when strict, refusing) unknown fields."""
    strict = strict_default() if strict is None else strict
    data = dict(body)
    for _attempt in range(8):  # each round strips one layer of unknown fields
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            unknown = [e for e in exc.errors() if e["type"] == "extra_forbidden"]
            others = [e for e in exc.errors() if e["type"] != "extra_forbidden"]
            if others or strict or not unknown:
                raise SpecError(_describe(exc.errors(), source, model, strict)) from None
            for error in unknown:
                warnings.warn(
                    UnknownFieldWarning(_unknown_message(error, source, model)), stacklevel=2
                )
                data = _without(data, error["loc"])
    raise SpecError(f"{source}: could not validate spec")


def _describe(errors: list[Any], source: str, model: type[BaseModel], strict: bool) -> str:
    lines = []
    for error in errors:
        if error["type"] == "extra_forbidden":
            suffix = " (strict mode refuses unknown fields)" if strict else ""
            lines.append(_unknown_message(error, source, model) + suffix)
            continue
        field = _dotted(error["loc"]) or "(top level)"
        got = error.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{source}: field '{field}': {message}{shown}")
    return "\n".join(lines)


def _unknown_message(error: Any, source: str, model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    field = str(loc[-1])
    known = _known_fields(model, loc[:-1])
    close = difflib.get_close_matches(field, known, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"{source}: unknown field '{_dotted(loc)}'{hint}"


def _dotted(loc: Iterable[Any]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, str) and part in _entity_class_names():
            continue  # a union member's tag, not a field the user wrote
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(str(part))
    return "".join(parts)


def _entity_class_names() -> set[str]:
    names: set[str] = set()
    pending: list[type] = [BaseModel]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def _without(data: dict[str, Any], loc: tuple[Any, ...]) -> dict[str, Any]:
    """A copy of `data` with the value at `loc` removed (loc may pass through lists)."""
    copy: Any = _deepcopy(data)
    target = copy
    path = list(loc)
    for part in path[:-1]:
        target = _child(target, part)
    if isinstance(target, dict):
        target.pop(path[-1], None)
    return dict(copy)


def _child(value: Any, part: Any) -> Any:
    """Step into `value` at `part`; union tags in a loc are not keys, so stay put."""
    if isinstance(value, dict) and part in value:
        return value[part]
    if isinstance(value, list) and isinstance(part, int) and part < len(value):
        return value[part]
    return value


def _deepcopy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value


def _known_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names (and aliases) a spec may use at `loc`, for did-you-mean hints."""
    candidates: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        next_level: list[type[BaseModel]] = []
        for cls in candidates:
            info = cls.model_fields.get(str(part))
            if info is not None:
                next_level.extend(_classes_in(info.annotation))
        if next_level:
            candidates = next_level
    names: set[str] = set()
    for cls in candidates:
        for name, info in cls.model_fields.items():
            names.add(info.alias or name)
    return sorted(names)


def _classes_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated, list, dict):
        return [c for arg in typing.get_args(annotation) for c in _classes_in(arg)]
    return []
