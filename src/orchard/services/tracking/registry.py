"""MLflow's model registry over Orchard's: a registered model is a model name.

Registered through MLflow or created by `orchard model create`, a model shows in both:
`orchard model list` lists the versions MLflow registered, and MLflow searches find
the models Orchard created. Names follow Orchard's rule (letters, digits, `-`, `_`,
`.`), which is stricter than MLflow's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from orchard.entities.base import ASSET_NAME
from orchard.entities.model_registry import STAGES, ModelVersion, RegisteredModel
from orchard.errors import NotFound, ValidationError
from orchard.services.context import Context
from orchard.services.tracking.filters import (
    Condition,
    matches,
    parse_filter,
    parse_order_by,
    sort_items,
)
from orchard.services.tracking.model_versions import (
    ModelVersionService,
    stage_name,
    to_model_version,
)
from orchard.services.tracking.paging import decode_token, encode_token
from orchard.store import Transaction

T = TypeVar("T")
MAX_MODELS_PER_PAGE = 1000
MAX_VERSIONS_PER_PAGE = 200_000
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_MODEL_ATTRIBUTES = {"name": "name"}
_MODEL_ORDER = {
    "name": "name",
    "timestamp": "last_updated_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
    "creation_timestamp": "creation_timestamp",
}
_VERSION_ATTRIBUTES = {
    "name": "name",
    "version_number": "version",
    "version": "version",
    "run_id": "run_id",
    "source_path": "source",
    "source": "source",
    "model_id": "model_id",
}
_VERSION_ORDER = {
    "name": "name",
    "version_number": "version_number",
    "creation_timestamp": "creation_timestamp",
    "timestamp": "last_updated_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}


def check_name(name: str) -> str:
    if not name:
        raise ValidationError("Registered model name cannot be empty.")
    if not ASSET_NAME.match(name):
        raise ValidationError(
            f"Invalid registered model name {name!r}: Orchard model names use letters, digits, "
            "'-', '_' or '.', start with a letter or digit and have at most 255 characters"
        )
    return name


class RegistryService:
    def __init__(self, context: Context, versions: ModelVersionService) -> None:
        self.context = context
        self.versions = versions

    def create(
        self,
        workspace: str,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        check_name(name)
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            return tx.registry.create(workspace_id, name, description=description, tags=tags)

    def get(self, workspace: str, name: str) -> RegisteredModel:
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            return self._full(tx, workspace_id, tx.registry.get(workspace_id, name))

    def update(
        self,
        workspace: str,
        name: str,
        *,
        description: str | None = None,
        set_tags: Mapping[str, str] | None = None,
        delete_tag: str | None = None,
    ) -> RegisteredModel:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            model = tx.registry.update(
                workspace_id,
                name,
                description=description,
                set_tags=set_tags,
                delete_tag=delete_tag,
            )
            return self._full(tx, workspace_id, model)

    def rename(self, workspace: str, name: str, new_name: str) -> RegisteredModel:
        check_name(new_name)
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.registry.rename(workspace_id, name, new_name)
            return self._full(tx, workspace_id, tx.registry.get(workspace_id, new_name))

    def delete(self, workspace: str, name: str) -> None:
        with self.context.store.begin() as tx:
            tx.registry.delete(tx.workspaces.id_of(workspace), name)

    def latest_versions(
        self, workspace: str, name: str, stages: Sequence[str] = ()
    ) -> list[ModelVersion]:
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            return self._latest(tx, workspace_id, tx.registry.get(workspace_id, name), stages)

    def set_alias(self, workspace: str, name: str, alias: str, version: str) -> None:
        if not alias or _RESERVED_ALIAS.match(alias):
            raise ValidationError(
                f"Invalid alias {alias!r}: 'latest' and aliases of the form 'v<number>' are "
                "reserved."
            )
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            self.versions.asset(tx, workspace_id, name, version)
            tx.registry.set_alias(workspace_id, name, alias, str(version))

    def delete_alias(self, workspace: str, name: str, alias: str) -> None:
        with self.context.store.begin() as tx:
            tx.registry.delete_alias(tx.workspaces.id_of(workspace), name, alias)

    def version_by_alias(self, workspace: str, name: str, alias: str) -> ModelVersion:
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            aliases = tx.registry.aliases(workspace_id, name)
            if alias not in aliases:
                raise NotFound(f"Registered model alias {alias} not found.")
            asset = self.versions.asset(tx, workspace_id, name, aliases[alias])
            return to_model_version(asset, aliases)

    def search(
        self,
        workspace: str,
        *,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        _check_page_size(max_results, MAX_MODELS_PER_PAGE)
        conditions = parse_filter(filter_string, attributes=_MODEL_ATTRIBUTES)
        orders = parse_order_by(order_by, attributes=_MODEL_ORDER) or parse_order_by(
            ["name"], attributes=_MODEL_ORDER
        )
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            models = tx.registry.list(workspace_id)
            found = [
                m
                for m in models
                if all(
                    matches(c, m.name if c.kind == "attribute" else _tag(m.tags, c.key))
                    for c in conditions
                )
            ]
            ordered = sort_items(found, orders, lambda m, key: getattr(m, key))
            page, token = _page(ordered, max_results, page_token)
            return [self._full(tx, workspace_id, m) for m in page], token

    def search_versions(
        self,
        workspace: str,
        *,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] = (),
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        _check_page_size(max_results, MAX_VERSIONS_PER_PAGE)
        conditions = parse_filter(filter_string, attributes=_VERSION_ATTRIBUTES)
        orders = parse_order_by(order_by, attributes=_VERSION_ORDER)
        named = [c.value for c in conditions if c.key == "name" and c.op == "=" and c.value]
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            names = [str(v) for v in named[:1]] or [m.name for m in tx.registry.list(workspace_id)]
            found: list[ModelVersion] = []
            for name in names:
                if not tx.registry.exists(workspace_id, name):
                    continue
                aliases = tx.registry.aliases(workspace_id, name)
                for asset in self.versions.live_versions(tx, workspace_id, name):
                    found.append(to_model_version(asset, aliases))
        found = [v for v in found if all(matches(c, _version_value(v, c)) for c in conditions)]
        ordered = sort_items(found, orders, _version_order_value)
        return _page(ordered, max_results, page_token)

    # -- assembling ----------------------------------------------------------------------

    def _full(self, tx: Transaction, workspace_id: int, model: RegisteredModel) -> RegisteredModel:
        return model.model_copy(
            update={"latest_versions": self._latest(tx, workspace_id, model, ())}
        )

    def _latest(
        self, tx: Transaction, workspace_id: int, model: RegisteredModel, stages: Sequence[str]
    ) -> list[ModelVersion]:
        wanted = [stage_name(s) for s in stages] or list(STAGES)
        aliases = {a.alias: a.version for a in model.aliases}
        latest: list[ModelVersion] = []
        for asset in self.versions.live_versions(tx, workspace_id, model.name):
            version = to_model_version(asset, aliases)
            if version.current_stage in wanted and all(
                v.current_stage != version.current_stage for v in latest
            ):
                latest.append(version)
        return sorted(latest, key=lambda v: wanted.index(v.current_stage))


def _tag(tags: Sequence[object], key: str) -> str | None:
    for tag in tags:
        if getattr(tag, "key", None) == key:
            return str(getattr(tag, "value", ""))
    return None


def _version_value(version: ModelVersion, condition: Condition) -> str | float | None:
    if condition.kind == "tag":
        return _tag(version.tags, condition.key)
    value = getattr(version, condition.key, None)
    return value if isinstance(value, str) or value is None else str(value)


def _version_order_value(version: ModelVersion, key: str) -> object:
    if key == "version_number":
        return int(version.version) if version.version.isdigit() else -1
    return getattr(version, key, None)


def _check_page_size(max_results: int, limit: int) -> None:
    if max_results < 1 or max_results > limit:
        raise ValidationError(
            f"Invalid value for request parameter max_results. It must be at most {limit}, "
            f"but got value {max_results}"
        )


def _page(items: list[T], max_results: int, page_token: str | None) -> tuple[list[T], str | None]:
    offset = decode_token(page_token)
    token = encode_token(offset + max_results) if len(items) > offset + max_results else None
    return items[offset : offset + max_results], token
