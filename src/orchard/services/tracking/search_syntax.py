"""MLflow's search syntax: `metrics.acc > 0.9 and params.lr = '0.01'` and order-by keys.

The grammar is MLflow's: comparisons joined by AND, identifiers prefixed by `metrics.`,
`params.`, `tags.` or `attributes.` (bare names are attributes), keys quoted with
backticks or double quotes when they hold spaces, strings in quotes, `IN (...)` lists.
Errors use MLflow's wording, since clients match on it.
"""

from __future__ import annotations

import re
from typing import Any

from orchard.errors import ValidationError
from orchard.store.run_query import Clause, EntityKind, OrderKey

_PREFIXES: dict[str, EntityKind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
_ATTRIBUTE_ALIASES = {
    "run_id": "run_id",
    "run_name": "run_name",
    "status": "status",
    "user_id": "user_id",
    "start_time": "start_time",
    "end_time": "end_time",
    "artifact_uri": "artifact_uri",
    "lifecycle_stage": "lifecycle_stage",
    "created": "start_time",
    "Created": "start_time",
    "experiment_name": "experiment_name",
}
_NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
# Attributes a filter may compare; `experiment_name` only orders (the store joins it then).
FILTER_ATTRIBUTES = frozenset(set(_ATTRIBUTE_ALIASES.values()) - {"experiment_name"})
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ident>(?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z_][\w.\-/:]*))
      | (?P<op>!=|>=|<=|=|>|<|(?i:NOT\s+IN\b|ILIKE\b|LIKE\b|IN\b|IS\s+NOT\s+NULL\b|IS\s+NULL\b))
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<list>\((?:[^()'"]|'[^']*'|"[^"]*")*\))
    )""",
    re.VERBOSE,
)
_AND = re.compile(r"\s+(?i:and)\s+")


def parse_filter(text: str | None) -> list[Clause]:
    if not text or not text.strip():
        return []
    return [_clause(part, text) for part in _split_and(text.strip())]


def parse_order_by(keys: list[str] | None) -> list[OrderKey]:
    result = []
    for raw in keys or []:
        words = raw.strip().rsplit(None, 1)
        ascending = True
        if len(words) == 2 and words[1].upper() in ("ASC", "DESC"):
            ascending = words[1].upper() == "ASC"
            raw = words[0]
        kind, key = _identifier(raw.strip(), raw)
        result.append(OrderKey(kind=kind, key=key, ascending=ascending))
    return result


def _split_and(text: str) -> list[str]:
    """Split on AND outside quotes and parentheses."""
    parts, depth, quote, start = [], 0, "", 0
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            match = _AND.match(text, index)
            if match and index > start:
                parts.append(text[start:index])
                start = index = match.end()
                continue
        index += 1
    parts.append(text[start:])
    return [p for p in (part.strip() for part in parts) if p]


def _clause(part: str, whole: str) -> Clause:
    tokens = list(_tokens(part, whole))
    if len(tokens) == 2 and tokens[1][0] == "op" and "NULL" in tokens[1][1].upper():
        kind, key = _filter_identifier(tokens[0][1], whole)
        return Clause(kind=kind, key=key, op=" ".join(tokens[1][1].upper().split()))
    if len(tokens) != 3 or tokens[0][0] != "ident" or tokens[1][0] != "op":
        raise ValidationError(f"Invalid clause(s) in filter string: '{part}'")
    kind, key = _filter_identifier(tokens[0][1], whole)
    op = " ".join(tokens[1][1].upper().split())
    value = _value(kind, key, op, tokens[2], whole)
    return Clause(kind=kind, key=key, op=op, value=value)


def _tokens(part: str, whole: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(part):
        if part[position:].strip() == "":
            break
        match = _TOKEN.match(part, position)
        if match is None or match.end() == position:
            raise ValidationError(f"Invalid filter string '{whole}'")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    # A bare word that is an operator keyword is an operator, not an identifier.
    return [
        ("op", value)
        if kind == "ident" and value.upper() in ("LIKE", "ILIKE", "IN")
        else (kind, value)
        for kind, value in found
    ]


def _identifier(text: str, whole: str) -> tuple[EntityKind, str]:
    prefix, dot, rest = text.partition(".")
    kind: EntityKind
    if dot and prefix.lower() in _PREFIXES:
        kind, key = _PREFIXES[prefix.lower()], _unquote(rest)
    else:
        kind, key = "attribute", _unquote(text)
    if kind == "attribute":
        if key not in _ATTRIBUTE_ALIASES:
            raise ValidationError(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                f"'{sorted(set(_ATTRIBUTE_ALIASES.values()))}'"
            )
        key = _ATTRIBUTE_ALIASES[key]
    return kind, key


def _filter_identifier(text: str, whole: str) -> tuple[EntityKind, str]:
    kind, key = _identifier(text, whole)
    if kind == "attribute" and key not in FILTER_ATTRIBUTES:
        raise ValidationError(
            f"Invalid attribute key '{key}' in filter string '{whole}': it can order "
            f"results but not filter them. Filterable attributes are {sorted(FILTER_ATTRIBUTES)}"
        )
    return kind, key


def _value(kind: EntityKind, key: str, op: str, token: tuple[str, str], whole: str) -> Any:
    token_kind, text = token
    if op in ("IN", "NOT IN"):
        if token_kind != "list":
            raise ValidationError(f"Invalid filter string '{whole}': IN needs a list")
        items = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text)
        return [a or b for a, b in items]
    numeric = kind == "metric" or (kind == "attribute" and key in _NUMERIC_ATTRIBUTES)
    if numeric:
        if token_kind != "number":
            raise ValidationError(
                f"Expected numeric value type for metric or numeric attribute. Found {text}"
            )
        return float(text) if kind == "metric" else int(float(text))
    if token_kind != "string":
        raise ValidationError(f"Expected a quoted string value for {kind}s. Got value {text}")
    return _unquote(text)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    return text
