"""The base of every service's store, and the rows it runs over (the database, or dicts in tests)."""

import seevee_shared.bus  # noqa: F401  (the bus imports the store base: initialize it first)
from seevee_shared.store.base import Entity, Store, table_of
from seevee_shared.store.conditions import AtLeast, AtMost, Below, Between, Desc, In, StartsWith
from seevee_shared.store.rows import MemoryRows, Rows, SqlRows

__all__ = [
    "AtLeast",
    "AtMost",
    "Below",
    "Between",
    "Desc",
    "Entity",
    "In",
    "MemoryRows",
    "Rows",
    "SqlRows",
    "StartsWith",
    "Store",
    "table_of",
]
