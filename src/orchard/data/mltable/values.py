"""The error an MLTable raises, where in a spec a problem is, and checks for single values.

Every check takes a :class:`Loc` and raises :class:`MLTableError` through it, so each
message names the table and the field, e.g. ``transformations[1].take``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchard.errors import ValidationError

# Azure's encoding names mapped to Python codecs. Plain utf8 tolerates a byte-order mark
# because Excel writes one and the header would otherwise start with an invisible character.
ENCODINGS = {
    "utf8": "utf-8-sig",
    "utf8bom": "utf-8-sig",
    "iso88591": "iso-8859-1",
    "latin1": "latin-1",
    "ascii": "ascii",
    "utf16": "utf-16",
    "utf32": "utf-32",
    "windows1252": "cp1252",
}


class MLTableError(ValidationError):
    """An MLTable, or a tabular file, that cannot be read; the message names where and why."""

    code = "INVALID_MLTABLE"


@dataclass(frozen=True)
class Loc:
    """Where a problem is: the table being read, and the field inside its spec."""

    subject: str
    field: str = ""

    def at(self, key: str | int) -> Loc:
        if isinstance(key, int):
            return Loc(self.subject, f"{self.field}[{key}]")
        return Loc(self.subject, f"{self.field}.{key}" if self.field else key)

    def error(self, message: str) -> MLTableError:
        prefix = f"{self.subject}: {self.field}: " if self.field else f"{self.subject}: "
        return MLTableError(prefix + message, details={"field": self.field} if self.field else None)


def check_options(value: Any, loc: Loc, allowed: Sequence[str]) -> dict[str, Any]:
    """A step's arguments: absent, or a mapping with only known keys."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise loc.error(f"must be a mapping of options, got {value!r}")
    unknown = [str(key) for key in value if key not in allowed]
    if unknown:
        raise loc.error(f"unknown option(s) {', '.join(unknown)}; expected {', '.join(allowed)}")
    return value


def check_bool(value: Any, loc: Loc) -> bool:
    if isinstance(value, bool):
        return value
    raise loc.error(f"must be true or false, got {value!r}")


def option_flag(opts: dict[str, Any], key: str, default: bool, loc: Loc) -> bool:
    """The boolean option ``key`` of a step, checked at ``loc.key``."""
    return check_bool(opts.get(key, default), loc.at(key))


def check_count(value: Any, loc: Loc) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise loc.error(f"must be a non-negative integer, got {value!r}")


def check_choice(value: Any, loc: Loc, choices: Sequence[str]) -> str:
    if isinstance(value, str) and value in choices:
        return value
    raise loc.error(f"must be one of {', '.join(choices)}; got {value!r}")


def check_strings(
    value: Any, loc: Loc, what: str = "column name", hint: str = ""
) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and items and all(isinstance(item, str) for item in items):
        return tuple(items)
    raise loc.error(f"must be a {what} or a non-empty list of {what}s{hint}, got {value!r}")


def check_encoding(value: Any, loc: Loc) -> str:
    # Accept the spellings people type ("utf-8", "ISO-8859-1") for Azure's names.
    name = value.lower().replace("-", "").replace("_", "") if isinstance(value, str) else value
    return check_choice(name, loc, tuple(ENCODINGS))


def single_key(item: Any, loc: Loc, what: str) -> tuple[str, Any]:
    """A one-key mapping as ``(key, value)``; a bare string is the key with no value."""
    if isinstance(item, str):
        return item, None  # a bare "- read_parquet" means the step with its defaults
    if isinstance(item, dict) and len(item) == 1:
        ((key, value),) = item.items()
        if isinstance(key, str):
            return key, value
    raise loc.error(f"must be a mapping with exactly one {what}, got {item!r}")
