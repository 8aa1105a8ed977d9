"""The metadata store: tables, migrations and repositories that return entities."""

from orchard.store.db import Store, Transaction

__all__ = ["Store", "Transaction"]
