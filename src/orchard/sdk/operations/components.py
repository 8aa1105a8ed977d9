"""`ml_client.components`: register, get, list and archive components."""

from __future__ import annotations

from typing import Any

from orchard.entities.components import ComponentBase
from orchard.sdk.operations.assets import AssetOperations, Progress
from orchard.sdk.uploads import upload_component, uploader
from orchard.services.assets import AssetService


class ComponentOperations(AssetOperations[ComponentBase]):
    @property
    def _service(self) -> AssetService:
        return self._transport.components

    def create_or_update(  # type: ignore[override]
        self, component: ComponentBase, *, version: str | None = None, **kw: Any
    ) -> ComponentBase:
        """Register a version; its local code (with additional_includes) is uploaded."""
        if version is not None:
            component = component.model_copy(update={"version": str(version)})
        return super().create_or_update(component, progress=kw.get("progress"))

    def _prepare(self, asset: ComponentBase, progress: Progress | None) -> ComponentBase:
        prepared = asset.model_copy(deep=True)
        upload = uploader(self._transport, self._workspace)
        upload_component(upload, prepared, f"component {asset.name}")
        return prepared
