"""Alembic environment: the shared runner, with this service's tables imported."""

import thread_service.models  # noqa: F401  (registers the tables on the metadata)
from seevee_shared.db.migrations import run_env

run_env()
