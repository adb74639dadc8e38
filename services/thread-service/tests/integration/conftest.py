"""A store per test: SQLite always, PostgreSQL too when its binaries (or ``TEST_POSTGRES_URL``) exist."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from seevee_shared.db import Database
from thread_service.app import MIGRATIONS_DIR


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty thread store."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/threads.db"
    database = Database(url)
    await database.upgrade(MIGRATIONS_DIR)
    yield database
    await database.dispose()
