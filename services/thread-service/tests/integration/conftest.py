"""A store per test: SQLite always, PostgreSQL too when its binaries (or ``TEST_POSTGRES_URL``) exist."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from seevee_deploy.localpostgres import LocalPostgres, postgres_bin_dir
from seevee_shared.db import Database
from thread_service.app import MIGRATIONS_DIR


@pytest.fixture(scope="session")
def thread_postgres_server() -> Iterator[str]:
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed and TEST_POSTGRES_URL is unset")
    with LocalPostgres(bin_dir) as server:
        yield server.url


async def _fresh_postgres_database(server_url: str) -> str:
    name = f"threads_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty thread store."""
    if request.param == "postgres":
        url = await _fresh_postgres_database(request.getfixturevalue("thread_postgres_server"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/threads.db"
    database = Database(url)
    await database.upgrade(MIGRATIONS_DIR)
    yield database
    await database.dispose()
