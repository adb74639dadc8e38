"""pytest fixtures for tests that need the real broker (mark them ``kafka``) or PostgreSQL (``postgres``).

Registered for the whole repository by the root ``conftest.py``. One broker serves the test session;
``KAFKA_BOOTSTRAP_SERVERS`` points the tests at an existing cluster instead. ``SEEVEE_TEST_MODE=containers``
takes both from our images through testcontainers (``seevee_deploy.containers``).
"""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio

from seevee_deploy.containers import container_mode, kafka_container, postgres_container
from seevee_deploy.localkafka import PARTITIONS, create_topics, running_kafka
from seevee_deploy.localpostgres import LocalPostgres, fresh_database, postgres_bin_dir

# Tests run services with the dev JWT secret, which a service accepts only in development.
os.environ.setdefault("SEEVEE_DEV", "true")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """Bootstrap servers of a broker that has every pipeline topic with six partitions."""
    if container_mode():
        with kafka_container(PARTITIONS) as bootstrap:
            await create_topics(bootstrap, partitions=PARTITIONS)
            yield bootstrap
        return
    async with running_kafka(tmp_path_factory.mktemp("kafka"), partitions=PARTITIONS) as bootstrap:
        await create_topics(bootstrap, partitions=PARTITIONS)
        yield bootstrap


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the session: ``TEST_POSTGRES_URL``, or a throwaway local cluster."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    if container_mode():
        with postgres_container() as url:
            yield url
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql) and TEST_POSTGRES_URL is unset")
    with LocalPostgres(bin_dir) as server:
        yield server.url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server, for one test.

    Synchronous (on a worker thread), so async fixtures may ask for it with ``getfixturevalue``.
    """
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, fresh_database(postgres_server)).result()
