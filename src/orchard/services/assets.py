"""Versioned assets (data, model, environment): create, resolve, list, update, archive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from orchard.entities.base import Asset
from orchard.entities.references import parse_asset_ref
from orchard.errors import Conflict, ImmutableField, NotFound, ValidationError
from orchard.services.context import Context
from orchard.store import Transaction
from orchard.store.assets import MUTABLE_COLUMNS, AssetFilter

LATEST = "latest"
# Fields the store sets, which never count as a change a user made.
_SERVER_FIELDS = {"id", "creation_context", "schema_", "archived", "version"}

Check = Callable[[Transaction, str, Asset], None]
Prepare = Callable[[Asset], Asset]
Tags = Mapping[str, str | None]


class AssetService:
    """The same rules for every versioned kind; `check` adds a kind's own validation and
    `prepare` fills in what a kind derives from the rest (a model's job from its path)."""

    def __init__(
        self,
        context: Context,
        kind: str,
        check: Check | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        self.context = context
        self.kind = kind
        self._check = check
        self._prepare = prepare

    def create_or_update(self, workspace: str, asset: Asset, *, create_only: bool = False) -> Asset:
        """Create a version; an existing version may change only its mutable fields."""
        self._expect_kind(asset)
        if self._prepare:
            asset = self._prepare(asset)
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            if asset.version is not None:
                existing = self._find(tx, workspace_id, asset.name, asset.version)
                if existing is not None:
                    if create_only:
                        raise_exists(asset)
                    return self._update_existing(tx, workspace_id, existing, asset)
            if self._check:
                self._check(tx, workspace, asset)
            return tx.assets.create(workspace_id, asset, created_by=self.context.user)

    def get(
        self,
        workspace: str,
        name: str,
        version: str | None = None,
        label: str | None = None,
        tags: Tags | None = None,
    ) -> Asset:
        """One version; with `tags`, the newest active version that has all of them."""
        if version is not None and label is not None:
            raise ValidationError("give a version or a label, not both")
        if version is not None and tags:
            raise ValidationError(
                "tags choose among versions: give a label with them, not a version"
            )
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            if version is not None:
                return tx.assets.get(workspace_id, self.kind, name, str(version))
            if (label or LATEST) != LATEST:
                raise ValidationError(
                    f"unknown label {label!r}: the label Orchard knows is 'latest'"
                )
            if tags:
                return self._latest_tagged(tx, workspace_id, name, tags)
            return tx.assets.latest(workspace_id, self.kind, name)

    def resolve(self, workspace: str, reference: str) -> Asset:
        """An asset from any reference form: `azureml:name:1`, `name@latest`, URIs."""
        ref = parse_asset_ref(reference)
        if ref.kind not in (None, self.kind):
            raise ValidationError(f"{reference!r} names a {ref.kind}, not a {self.kind}")
        return self.get(ref.workspace or workspace, ref.name, ref.version, ref.label)

    def list(
        self, workspace: str, name: str | None = None, where: AssetFilter = AssetFilter()
    ) -> list[Asset]:
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            if name is None:
                return tx.assets.latest_of_each(workspace_id, self.kind, where)
            if not tx.assets.exists(workspace_id, self.kind, name):
                raise NotFound(f"{self.kind} {name!r} not found")
            return tx.assets.versions(workspace_id, self.kind, name, where)

    def update(self, workspace: str, name: str, version: str, changes: Mapping[str, Any]) -> Asset:
        """Change description, tags, properties or stage of one version."""
        refused = sorted(set(changes) - set(MUTABLE_COLUMNS))
        if refused:
            raise ImmutableField(
                f"{self.kind} {name}:{version}: {', '.join(refused)} cannot change after "
                f"creation; only {', '.join(MUTABLE_COLUMNS)} can"
            )
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            return tx.assets.update(workspace_id, self.kind, name, version, changes)

    def archive(self, workspace: str, name: str, version: str | None = None) -> None:
        self._set_archived(workspace, name, version, True)

    def restore(self, workspace: str, name: str, version: str | None = None) -> None:
        self._set_archived(workspace, name, version, False)

    def _set_archived(self, workspace: str, name: str, version: str | None, value: bool) -> None:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            tx.assets.set_archived(workspace_id, self.kind, name, version, value)

    def _latest_tagged(self, tx: Transaction, workspace_id: int, name: str, tags: Tags) -> Asset:
        if not tx.assets.exists(workspace_id, self.kind, name):
            raise NotFound(f"{self.kind} {name!r} not found")
        # Newest first, archived versions left out: what `latest` means without tags.
        found = tx.assets.versions(workspace_id, self.kind, name, AssetFilter(tags=tags))
        if not found:
            wanted = ", ".join(k if v is None else f"{k}={v}" for k, v in tags.items())
            raise NotFound(f"{self.kind} {name!r} has no active version with tags {wanted}")
        return found[0]

    def _find(self, tx: Transaction, workspace_id: int, name: str, version: str) -> Asset | None:
        try:
            return tx.assets.get(workspace_id, self.kind, name, version)
        except NotFound:
            return None

    def _update_existing(
        self, tx: Transaction, workspace_id: int, existing: Asset, wanted: Asset
    ) -> Asset:
        changed = immutable_changes(existing, wanted)
        if changed:
            raise ImmutableField(
                f"{self.kind} {existing.name}:{existing.version} already exists and "
                f"{', '.join(changed)} cannot change; create a new version instead"
            )
        changes = {
            column: getattr(wanted, column)
            for column in MUTABLE_COLUMNS
            if getattr(wanted, column) != getattr(existing, column)
        }
        assert existing.version is not None
        return tx.assets.update(workspace_id, self.kind, existing.name, existing.version, changes)

    def _expect_kind(self, asset: Asset) -> None:
        if asset.kind != self.kind:
            raise ValidationError(f"expected a {self.kind}, got a {asset.kind}")


def immutable_changes(existing: Asset, wanted: Asset) -> list[str]:
    skip = _SERVER_FIELDS | set(MUTABLE_COLUMNS)
    before = existing.model_dump(mode="json", exclude=skip)
    after = wanted.model_dump(mode="json", exclude=skip)
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def raise_exists(asset: Asset) -> None:
    raise Conflict(
        f"{asset.kind} {asset.name}:{asset.version} already exists; versions are immutable, "
        "create a new version (omit --version for the next number)"
    )
