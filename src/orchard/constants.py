"""azure.ai.ml.constants names."""

from orchard.entities.assets import AssetTypes
from orchard.sdk.operations.assets import ListViewType

__all__ = ["AssetTypes", "ListViewType"]
