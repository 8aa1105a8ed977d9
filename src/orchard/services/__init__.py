"""Domain logic, one module per asset kind. Both transports call these services."""

from orchard.services.api import Services

__all__ = ["Services"]
