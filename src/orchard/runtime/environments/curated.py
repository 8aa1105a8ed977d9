"""Curated environments: Azure ML's named environments, as data in `curated.yaml`.

Specs name a curated environment in many spellings, all resolved through one alias table:

    azureml:AzureML-sklearn-1.5@latest          AzureML-sklearn-1.5:3
    AzureML-sklearn-1.0-ubuntu20.04-py38-cpu     sklearn-1.5
    azureml://registries/azureml/environments/sklearn-1.5/labels/latest
    azureml://registries/azureml/environments/sklearn-1.5/versions/12

Callers that also know workspace environments look there first: a curated name is what a
reference means only when the workspace holds nothing by that name.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from orchard.entities.assets import Environment

CURATED_TAG = "orchard.curated"  # set on curated Environments; names the catalog entry
AZURE_PREFIX = "azureml-"
_DATA_FILE = "curated.yaml"
# `.../environments/<name>[/versions/<n> | /labels/<label>]`: registry URIs and ARM ids.
_PATH_FORM = re.compile(
    r"/environments/(?P<name>[^/@:]+)(?:/(?P<kind>versions|labels)/(?P<value>[^/]+))?/?$",
    re.IGNORECASE,
)
_REGISTRY = re.compile(r"^azureml://registries/(?P<registry>[^/]+)/", re.IGNORECASE)
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,29}$")


@dataclass(frozen=True)
class CuratedEntry:
    key: str
    description: str
    azure_source: str | None
    conda_file: dict[str, Any]
    aliases: tuple[str, ...] = ()
    image: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


@functools.cache
def catalog() -> dict[str, CuratedEntry]:
    """Every curated environment, by its key (the Azure registry name)."""
    text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    entries: dict[str, CuratedEntry] = {}
    for key, body in data["environments"].items():
        entries[key] = CuratedEntry(
            key=key,
            description=body["description"],
            azure_source=body.get("azure_source"),
            conda_file=body["conda_file"],
            aliases=tuple(body.get("aliases") or ()),
            image=body.get("image"),
            tags=tuple((str(k), str(v)) for k, v in (body.get("tags") or {}).items()),
        )
    return entries


@functools.cache
def alias_table() -> dict[str, str]:
    """Normalized name -> catalog key, for keys and aliases alike."""
    table: dict[str, str] = {}
    for key, entry in catalog().items():
        for name in (key, *entry.aliases):
            normalized = normalize_name(name)
            if table.get(normalized, key) != key:
                raise ValueError(f"curated.yaml: {name!r} names both {table[normalized]} and {key}")
            table[normalized] = key
    return table


def normalize_name(name: str) -> str:
    lowered = name.strip().lower()
    return lowered.removeprefix(AZURE_PREFIX)


def curated_key(name: str) -> str | None:
    """The catalog key a bare environment name means, or None."""
    return alias_table().get(normalize_name(name))


def parse_reference(reference: str) -> tuple[str, str | None] | None:
    """(name, version) of an environment reference in any Azure spelling; None if foreign.

    A label (`@latest`, `/labels/latest`) gives no version: curated entries have one
    definition each, which is what every label of them means here.
    """
    text = reference.strip()
    registry = _REGISTRY.match(text)
    if registry is not None and registry.group("registry").lower() != "azureml":
        return None  # another registry's environment is not Azure's curated one
    path = _PATH_FORM.search(text)
    if path is not None:
        version = path.group("value") if (path.group("kind") or "").lower() == "versions" else None
        return path.group("name"), version
    if registry is not None or "/" in text:
        return None
    if text.lower().startswith("azureml:"):
        text = text[len("azureml:") :]
    if "@" in text:
        return text.split("@", 1)[0], None
    if ":" in text:
        name, version = text.rsplit(":", 1)
        return name, version
    return text, None


def resolve_curated(reference: str) -> Environment | None:
    """The curated Environment a reference names, or None when it names none."""
    parsed = parse_reference(reference)
    if parsed is None:
        return None
    name, version = parsed
    key = curated_key(name)
    if key is None:
        return None
    if version is not None and not _VERSION.match(version):
        version = None
    return curated_environment(key, version=version)


def curated_environment(key: str, *, version: str | None = None) -> Environment:
    entry = catalog()[key]
    return Environment(
        name=f"AzureML-{key}",
        version=version,
        description=entry.description,
        image=entry.image,
        # A copy: Environment is mutable and the catalog is shared by the process.
        conda_file=copy.deepcopy(entry.conda_file),
        os_type="linux",
        tags={**dict(entry.tags), CURATED_TAG: key},
    )
