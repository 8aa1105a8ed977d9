"""`ml_client.components`: register, get, list and archive components."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchard.entities.components import ComponentBase
from orchard.sdk.operations.assets import AssetOperations, Progress
from orchard.sdk.uploads import upload_component
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
        upload_component(self._upload, prepared, f"component {asset.name}")
        return prepared

    def _upload(self, source: Path, what: str, ignore: tuple[str, ...], limit: int | None) -> str:
        return self._transport.files.upload(
            self._workspace(), source, ignore_file_names=ignore, max_bytes=limit
        )
