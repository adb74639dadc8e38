"""Alembic environment of the task-service: its tables plus the shared inbox and outbox."""

import task_service.models  # noqa: F401  (registers the tables on the metadata)
from seevee_shared.bus import tables  # noqa: F401
from seevee_shared.db.migrations import run_env

run_env()
