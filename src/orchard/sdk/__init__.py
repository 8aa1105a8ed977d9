"""The Python SDK: MLClient and its operations."""

from orchard.sdk.client import MLClient

__all__ = ["MLClient"]
