"""Alembic environment of bounce-ingest: its tables plus the shared inbox and outbox."""

import bounce_ingest.models  # noqa: F401 - registers the tables on the metadata
import seevee_shared.bus.tables  # noqa: F401 - the inbox and outbox live in every service's store
from seevee_shared.db.migrations import run_env

run_env()
