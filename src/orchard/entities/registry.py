"""Which entity class a stored spec of a given kind becomes."""

from __future__ import annotations

from typing import Any

from orchard.entities.assets import VERSIONED_KINDS
from orchard.entities.base import Asset, Resource
from orchard.entities.batch_endpoints import BATCH_DEPLOYMENT_TYPES, BATCH_ENDPOINT_TYPES
from orchard.entities.compute import COMPUTE_TYPES
from orchard.entities.datastores import DATASTORE_TYPES
from orchard.entities.endpoints import ONLINE_DEPLOYMENT_TYPES, ONLINE_ENDPOINT_TYPES
from orchard.entities.schedules import JobSchedule
from orchard.errors import ValidationError

RESOURCE_TYPES: dict[str, dict[str, type[Resource]]] = {
    "datastore": dict(DATASTORE_TYPES),
    "compute": dict(COMPUTE_TYPES),
    "online_endpoint": dict(ONLINE_ENDPOINT_TYPES),
    "online_deployment": dict(ONLINE_DEPLOYMENT_TYPES),
    "schedule": {"schedule": JobSchedule},
    "batch_endpoint": dict(BATCH_ENDPOINT_TYPES),
    "batch_deployment": dict(BATCH_DEPLOYMENT_TYPES),
}


def asset_class(kind: str, type_name: str | None = None) -> type[Asset]:
    """The class of an asset kind; a component's also depends on its `type`."""
    if kind == "component":
        from orchard.entities.component_loading import COMPONENT_TYPES

        return COMPONENT_TYPES.get(str(type_name or "command").lower(), COMPONENT_TYPES["command"])
    try:
        return VERSIONED_KINDS[kind]
    except KeyError:
        raise ValidationError(f"unknown asset kind {kind!r}") from None


def resource_class(kind: str, type_name: str | None) -> type[Resource]:
    types = RESOURCE_TYPES.get(kind)
    if types is None:
        raise ValidationError(f"unknown resource kind {kind!r}")
    if type_name is None and len(types) == 1:
        return next(iter(types.values()))  # a kind of one type: its specs name none
    if type_name is None:
        raise ValidationError(f"a {kind} needs a 'type': one of {', '.join(sorted(types))}")
    cls = types.get(str(type_name).lower())
    if cls is None:
        raise ValidationError(
            f"unknown {kind} type {type_name!r}: expected one of {', '.join(sorted(types))}"
        )
    return cls


def resource_from_spec(kind: str, spec: dict[str, Any]) -> Resource:
    return resource_class(kind, spec.get("type")).model_validate(spec)
