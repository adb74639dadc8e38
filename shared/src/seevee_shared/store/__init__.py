"""The base of every service's store, and the rows it runs over (the database, or dicts in tests)."""

import seevee_shared.bus  # noqa: F401  (the bus imports the store base: initialize it first)
from seevee_shared.store.base import Entity, Store, table_of
from seevee_shared.store.rows import In, MemoryRows, Rows, SqlRows

__all__ = ["Entity", "In", "MemoryRows", "Rows", "SqlRows", "Store", "table_of"]
