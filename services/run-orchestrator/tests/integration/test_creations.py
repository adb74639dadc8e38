"""Runs created concurrently are committed together, each request answered only after its commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from run_orchestrator import domain
from run_orchestrator.app import MIGRATIONS
from run_orchestrator.creations import Creations
from run_orchestrator.store import RunStore
from seevee_shared.db import Database, utcnow
from seevee_shared.store import SqlRows

WS = "ws-create"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/runs.db")
    await database.upgrade(MIGRATIONS)
    yield database
    await database.dispose()


def a_run(run_id: str) -> domain.StoredRun:
    return domain.new_run(
        run_id=run_id,
        workspace_id=WS,
        contact_id=f"c-{run_id}",
        thread_id=f"t-{run_id}",
        recipient=f"{run_id}@acme.test",
        sender_mailbox="me@seevee.test",
        delays=[0, 24],
        start_at=None,
        now=utcnow(),
    )


async def stored(db: Database, run_id: str) -> domain.StoredRun | None:
    async with db.transaction() as session:
        return await RunStore(SqlRows(await session.connection())).run(WS, run_id)


async def test_concurrent_creations_are_all_committed_before_they_return(db: Database) -> None:
    creations = Creations(db)

    async def create_and_read(run_id: str) -> domain.StoredRun | None:
        await creations.create(a_run(run_id))
        return await stored(db, run_id)

    found = await asyncio.gather(*(create_and_read(f"r{n}") for n in range(30)))
    assert [(run.record.run_id, len(run.steps)) if run else None for run in found] == [
        (f"r{n}", 2) for n in range(30)
    ]


async def test_a_failed_write_fails_its_requests_and_the_next_ones_go_through(db: Database) -> None:
    creations = Creations(db)
    await creations.create(a_run("taken"))
    outcomes = await asyncio.gather(
        creations.create(a_run("taken")), creations.create(a_run("fresh")), return_exceptions=True
    )
    assert isinstance(outcomes[0], IntegrityError)
    await creations.create(a_run("later"))
    assert await stored(db, "later") is not None
