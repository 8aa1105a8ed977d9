"""The MLTable file: reading its YAML, and checking it into path entries and steps.

A spec is a mapping with ``paths`` (required) and ``transformations``: one read step
first, then row and column steps. ``$schema``, ``type``, ``traits`` and ``metadata`` are
allowed and otherwise ignored; any other key is an error, so a typo is not silently lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import yaml

from orchard.data.mltable.paths import File, PathEntry, Resolver, parse_paths, resolve_uri
from orchard.data.mltable.readers import ReadDelimited, Reader, ReadJsonLines, ReadParquet
from orchard.data.mltable.transforms import (
    ConvertColumnTypes,
    DropColumns,
    KeepColumns,
    Skip,
    Step,
    Take,
    TakeRandomSample,
)
from orchard.data.mltable.values import Loc, single_key

Transformation: TypeAlias = Reader | Step

_TOP_LEVEL_KEYS = ("$schema", "type", "paths", "transformations", "traits", "metadata")

_PARSERS: dict[str, Callable[[Any, Loc], Transformation]] = {
    ReadDelimited.name: ReadDelimited.parse,
    ReadParquet.name: ReadParquet.parse,
    ReadJsonLines.name: ReadJsonLines.parse,
    Take.name: Take.parse,
    Skip.name: Skip.parse,
    DropColumns.name: DropColumns.parse,
    KeepColumns.name: KeepColumns.parse,
    ConvertColumnTypes.name: ConvertColumnTypes.parse,
    TakeRandomSample.name: TakeRandomSample.parse,
}


def read_spec(spec_uri: str, resolve: Resolver, loc: Loc) -> Any:
    """The MLTable file at ``spec_uri``, parsed from YAML but not yet checked."""
    fs, path = resolve_uri(resolve, spec_uri, loc)
    if not fs.isfile(path):
        raise loc.error(f"no MLTable file at {spec_uri}")
    data = File(spec_uri, fs, path).read_bytes(loc)
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise loc.error(f"{spec_uri} is not UTF-8 text: {exc}") from exc
    except yaml.YAMLError as exc:
        raise loc.error(f"{spec_uri} is not valid YAML: {exc}") from exc


def parse_spec(spec: Any, base_uri: str, loc: Loc) -> tuple[list[PathEntry], list[Transformation]]:
    """Check a spec; relative paths are joined to ``base_uri``."""
    if not isinstance(spec, dict):
        raise loc.error(f"the MLTable file must hold a mapping, got {type(spec).__name__}")
    unknown = [str(key) for key in spec if key not in _TOP_LEVEL_KEYS]
    if unknown:
        raise loc.error(
            f"unknown top-level key(s) {', '.join(unknown)}; expected {', '.join(_TOP_LEVEL_KEYS)}"
        )
    if spec.get("type", "mltable") != "mltable":
        raise loc.at("type").error(f"must be 'mltable', got {spec['type']!r}")
    if "paths" not in spec:
        raise loc.at("paths").error("is required")
    paths = parse_paths(spec["paths"], base_uri, loc.at("paths"))
    return paths, _parse_transformations(spec.get("transformations"), loc.at("transformations"))


def _parse_transformations(value: Any, loc: Loc) -> list[Transformation]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise loc.error(f"must be a list of transformations, got {value!r}")
    steps = []
    for index, item in enumerate(value):
        name, args = single_key(item, loc.at(index), "transformation name")
        parse = _PARSERS.get(name)
        if parse is None:
            raise loc.at(index).error(
                f"unknown transformation {name!r}; expected one of {', '.join(_PARSERS)}"
            )
        step_loc = loc.at(index).at(name)
        step = parse(args, step_loc)
        if index > 0 and isinstance(step, Reader):
            raise step_loc.error("must be the first transformation: it turns files into a table")
        steps.append(step)
    return steps
