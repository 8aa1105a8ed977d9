"""Azure ML's command templating: `${{inputs.x}}`, `${{outputs.y}}`, `$[[optional]]`.

An optional fragment `$[[ --lr ${{inputs.lr}} ]]` is kept when every input it names
was given, and dropped otherwise, as Azure does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from orchard.errors import ValidationError

_REFERENCE = re.compile(
    r"\$\{\{\s*(?P<scope>inputs|outputs|search_space)\.(?P<name>[\w.\-]+)\s*\}\}"
)
_OPTIONAL = re.compile(r"\$\[\[(?P<body>.*?)\]\]", re.DOTALL)


def references(command: str) -> set[tuple[str, str]]:
    """(scope, name) pairs the command refers to, optional fragments included."""
    return {(m.group("scope"), m.group("name")) for m in _REFERENCE.finditer(command)}


def required_references(command: str) -> set[tuple[str, str]]:
    """References outside optional fragments: these must be bound."""
    return references(_OPTIONAL.sub("", command))


def render(
    command: str,
    values: Mapping[str, Mapping[str, str]],
    *,
    where: str = "command",
) -> str:
    """Fill every reference from `values[scope][name]`; refuse one left unbound."""

    def keep_or_drop(match: re.Match[str]) -> str:
        body = match.group("body")
        needed = references(body)
        return body if all(name in values.get(scope, {}) for scope, name in needed) else ""

    def fill(match: re.Match[str]) -> str:
        scope, name = match.group("scope"), match.group("name")
        bound = values.get(scope, {})
        if name not in bound:
            raise ValidationError(
                f"{where}: ${{{{{scope}.{name}}}}} is not bound: the job has no {scope[:-1]} "
                f"named {name!r} (known: {', '.join(sorted(bound)) or 'none'})"
            )
        return bound[name]

    return _REFERENCE.sub(fill, _OPTIONAL.sub(keep_or_drop, command))
