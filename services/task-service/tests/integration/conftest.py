"""A throwaway PostgreSQL server for the store tests that also run against PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from seevee_deploy.localpostgres import LocalPostgres, postgres_bin_dir


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``TEST_POSTGRES_URL`` when set, else a local cluster; skipped where PostgreSQL is not installed."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed and TEST_POSTGRES_URL is unset")
    with LocalPostgres(bin_dir) as server:
        yield server.url
