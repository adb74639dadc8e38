"""The store layer on both backends: SQLite (embedded default) and PostgreSQL (production)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

import task_service.app
from seevee_shared.bus.tables import InboxRecord, OutboxRecord
from seevee_shared.db import Database
from seevee_shared.db.schema_head import script_heads


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/store.db"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    tables = [InboxRecord.__table__, OutboxRecord.__table__]  # type: ignore[attr-defined]
    async with database.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.drop_all, tables=tables)
        await connection.run_sync(SQLModel.metadata.create_all, tables=tables)
    yield database
    await database.dispose()


async def test_times_come_back_aware_and_in_utc(db: Database) -> None:
    paris = timezone(timedelta(hours=1))
    async with db.transaction() as session:
        session.add(
            InboxRecord(
                event_id="e-1", consumer="c", topic="t", processed_at=datetime(2026, 1, 1, 10, tzinfo=paris)
            )
        )
    async with db.transaction() as session:
        row = (await session.exec(select(InboxRecord))).one()
    assert row.processed_at == datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert row.processed_at.tzinfo is not None


async def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(InboxRecord(event_id="e-2", consumer="c", topic="t"))
            await session.flush()
            raise RuntimeError("boom")
    async with db.transaction() as session:
        assert (await session.exec(select(InboxRecord))).all() == []


async def test_the_inbox_refuses_an_event_twice_for_one_consumer(db: Database) -> None:
    async with db.transaction() as session:
        session.add(InboxRecord(event_id="e-3", consumer="a", topic="t"))
        session.add(InboxRecord(event_id="e-3", consumer="b", topic="t"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            session.add(InboxRecord(event_id="e-3", consumer="a", topic="t"))


async def test_a_savepoint_rolls_back_alone(db: Database) -> None:
    async with db.transaction() as session:
        session.add(InboxRecord(event_id="kept", consumer="c", topic="t"))
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                session.add(InboxRecord(event_id="dropped", consumer="c", topic="t"))
                await session.flush()
                raise RuntimeError("one event failed")
    async with db.transaction() as session:
        ids = (await session.exec(select(InboxRecord.event_id))).all()
    assert ids == ["kept"]


async def test_a_store_at_head_is_told_without_alembic_and_one_behind_is_migrated(
    db: Database, tmp_path: Path
) -> None:
    migrations = Path(task_service.app.MIGRATIONS_DIR)
    async with db.engine.begin() as connection:  # the migrations make the store's tables themselves
        await connection.run_sync(SQLModel.metadata.drop_all)
    assert await db.applied_revisions() == frozenset(), "no alembic_version before the first migration"
    await db.upgrade(migrations)
    head = script_heads(migrations)
    assert await db.applied_revisions() == head
    await db.upgrade(migrations)  # at head: one query, nothing to run
    async with db.engine.begin() as connection:
        await connection.execute(text("DROP TABLE outbox_dead_letter"))
        await connection.execute(text("UPDATE alembic_version SET version_num = '2ca6da0e3dff'"))
    await db.upgrade(migrations)
    assert await db.applied_revisions() == head
    async with db.reading() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM outbox_dead_letter"))).scalar() == 0
