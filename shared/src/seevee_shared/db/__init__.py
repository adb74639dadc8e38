"""Async database access: SQLite (embedded default) or PostgreSQL, chosen by URL."""

from seevee_shared.db.database import Database, is_sqlite
from seevee_shared.db.types import UtcDateTime, utcnow

__all__ = ["Database", "UtcDateTime", "is_sqlite", "utcnow"]
