"""MLflow's filter and order-by strings for the searches that run over small sets in
memory: experiments, registered models, model versions and logged models.

`name LIKE 'clf%' AND tags.team = 'vision'`: comparisons joined by AND; identifiers
prefixed `tags.`, `params.`, `metrics.` or `attributes.` (bare names are attributes);
strings quoted, numbers bare, `IN ('a', 'b')` lists. Each search names the attributes it
knows; anything else is refused with MLflow's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from orchard.errors import ValidationError

T = TypeVar("T")
Value = str | float | None

_PREFIXES = {
    "tag": "tag",
    "tags": "tag",
    "param": "param",
    "params": "param",
    "metric": "metric",
    "metrics": "metric",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<list>\((?:[^()'"]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")*\))
      | (?P<op>!=|>=|<=|=|>|<
          |(?i:NOT\s+IN|NOT\s+LIKE|NOT\s+ILIKE|ILIKE|LIKE|IN|IS\s+NOT\s+NULL|IS\s+NULL)(?!\w))
      | (?P<and>(?i:AND)(?!\w))
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<ident>(?:[A-Za-z_]+\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z_][\w.\-/:]*))
    )""",
    re.VERBOSE,
)
_LIST_ITEM = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([-+]?[\d.eE+-]+)""")


@dataclass(frozen=True)
class Condition:
    kind: str  # "attribute" | "tag" | "param" | "metric"
    key: str
    op: str
    value: Value | list[str] = None


@dataclass(frozen=True)
class Order:
    key: str
    ascending: bool = True


def parse_filter(
    text: str | None, *, attributes: Mapping[str, str], kinds: Collection[str] = ("tag",)
) -> list[Condition]:
    """Conditions of a filter string; `attributes` maps accepted spellings to keys."""
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    conditions: list[Condition] = []
    index = 0
    while index < len(tokens):
        if conditions:
            if tokens[index][0] != "and":
                raise ValidationError(f"Invalid filter '{text}': expected AND")
            index += 1
        if index + 1 >= len(tokens) or tokens[index][0] != "ident" or tokens[index + 1][0] != "op":
            raise ValidationError(f"Invalid filter '{text}'")
        kind, key = _identifier(tokens[index][1], attributes, kinds)
        op = " ".join(tokens[index + 1][1].upper().split())
        if op in ("IS NULL", "IS NOT NULL"):
            conditions.append(Condition(kind, key, op))
            index += 2
            continue
        if index + 2 >= len(tokens):
            raise ValidationError(f"Invalid filter '{text}': '{op}' needs a value")
        conditions.append(Condition(kind, key, op, _value(op, tokens[index + 2], text)))
        index += 3
    return conditions


def parse_order_by(keys: Sequence[str] | None, *, attributes: Mapping[str, str]) -> list[Order]:
    orders = []
    for raw in keys or []:
        words = raw.strip().rsplit(None, 1)
        ascending = True
        if len(words) == 2 and words[1].upper() in ("ASC", "DESC"):
            ascending, raw = words[1].upper() == "ASC", words[0]
        name = raw.strip().removeprefix("attributes.").removeprefix("attribute.")
        if name not in attributes:
            raise ValidationError(
                f"Invalid order_by clause '{raw}'. Only order_by on "
                f"{sorted(set(attributes.values()))} is supported."
            )
        orders.append(Order(attributes[name], ascending))
    return orders


def matches(condition: Condition, actual: Value) -> bool:
    op, wanted = condition.op, condition.value
    if op == "IS NULL":
        return actual is None
    if op == "IS NOT NULL":
        return actual is not None
    if actual is None:
        # A missing tag is not 'true': `tags.x != 'true'` keeps what has no tag x, as
        # MLflow's own registry search does (its clients add that filter to hide prompts).
        return op in ("!=", "NOT IN", "NOT LIKE", "NOT ILIKE")
    if isinstance(wanted, list):
        return (str(actual) in wanted) == (op == "IN")
    if op.endswith("LIKE"):
        found = like(str(wanted), str(actual), insensitive=op.endswith("ILIKE"))
        return found != op.startswith("NOT")
    left: Any = actual
    right: Any = wanted
    if isinstance(wanted, float) or isinstance(actual, float | int):
        try:
            left, right = float(actual), float(wanted or 0)
        except ValueError:
            left, right = str(actual), str(wanted)
    else:
        left, right = str(actual), str(wanted)
    comparisons: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    return comparisons[op](left, right)


def like(pattern: str, value: str, *, insensitive: bool = False) -> bool:
    """SQL LIKE: `%` is any run of characters, `_` any one character."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.DOTALL | (re.IGNORECASE if insensitive else 0)) is not None


def sort_items(items: list[T], orders: Sequence[Order], value: Callable[[T, str], Any]) -> list[T]:
    """Stable multi-key sort; missing values sort last either way."""
    result = list(items)
    for order in reversed(orders):
        present = [i for i in result if value(i, order.key) is not None]
        absent = [i for i in result if value(i, order.key) is None]
        present.sort(key=lambda i: value(i, order.key), reverse=not order.ascending)
        result = present + absent
    return result


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValidationError(f"Invalid filter '{text}' at '{text[position:].strip()}'")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _identifier(
    text: str, attributes: Mapping[str, str], kinds: Collection[str]
) -> tuple[str, str]:
    prefix, dot, rest = text.partition(".")
    if dot and prefix.lower() in _PREFIXES:
        kind, key = _PREFIXES[prefix.lower()], _unquote(rest)
    else:
        kind, key = "attribute", _unquote(text)
    if kind == "attribute":
        if key not in attributes:
            raise ValidationError(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                f"'{sorted(set(attributes.values()))}'"
            )
        return kind, attributes[key]
    if kind not in kinds:
        raise ValidationError(f"Invalid entity type '{prefix}' in filter: cannot filter on {kind}s")
    return kind, key


def _value(op: str, token: tuple[str, str], text: str) -> Value | list[str]:
    kind, raw = token
    if op in ("IN", "NOT IN"):
        if kind != "list":
            raise ValidationError(f"Invalid filter '{text}': {op} needs a list like ('a', 'b')")
        return [a or b or c for a, b, c in _LIST_ITEM.findall(raw[1:-1])]
    if kind == "number":
        return float(raw)
    if kind == "string":
        return _unquote(raw)
    raise ValidationError(f"Invalid filter '{text}': expected a quoted string or a number")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text
