"""``fetch_any`` (alternatives, order, limit, row locks) and the ``StartsWith`` and ``Below`` conditions
on the real databases (SQLite, PostgreSQL) give what ``MemoryRows`` gives."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from seevee_shared.db import Database, UtcDateTime
from seevee_shared.store import AtLeast, Below, Desc, In, MemoryRows, Rows, SqlRows, StartsWith
from seevee_shared.store.conditions import MAX_LISTED, Order, Where

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

METADATA = MetaData()
LETTERS = Table(
    "alternative_letters",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("ref", String(60), nullable=True),
    Column("kind", String(10)),
    Column("at", UtcDateTime),
)
ROWS: list[dict[str, Any]] = [
    {"id": 1, "ref": "pm-1", "kind": "a", "at": T0},
    {"id": 2, "ref": "pm-1.filter0001.16648.5515E0B88.0", "kind": "b", "at": T0 + timedelta(minutes=1)},
    {"id": 3, "ref": "PM-1.FILTER7", "kind": "a", "at": T0 + timedelta(minutes=2)},
    {"id": 4, "ref": "pm-1xfilter", "kind": "b", "at": T0 + timedelta(minutes=2)},
    {"id": 5, "ref": "100%_off.filter", "kind": "a", "at": T0 + timedelta(minutes=3)},
    {"id": 6, "ref": "100xyoff.filter", "kind": "c", "at": T0 + timedelta(minutes=4)},
    {"id": 7, "ref": None, "kind": "c", "at": T0 + timedelta(minutes=5)},
]
Ask = tuple[list[Where], list[Order], int | None]
ASKED: list[Ask] = [
    ([{"ref": StartsWith("pm-1.filter")}], ["id"], None),
    ([{"ref": StartsWith("100%_")}], ["id"], None),
    ([{"ref": "pm-1"}, {"ref": StartsWith("pm-1.filter")}, {"kind": "c"}], ["id"], None),
    ([{"kind": "a"}, {"kind": In(["a", "b"]), "at": AtLeast(T0 + timedelta(minutes=2))}], [Desc("id")], None),
    ([{"kind": In(["a", "b", "c"])}], [Desc("at"), "id"], 4),
    (
        [{"at": Below(T0 + timedelta(minutes=2))}, {"at": T0 + timedelta(minutes=2), "id": Below(4)}],
        ["id"],
        None,
    ),
    ([{"kind": In([])}, {"kind": "b"}], ["id"], None),
    ([{"kind": In([])}], [], None),
    ([], [], None),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path}/alternatives.db"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    async with db.transaction() as session:
        await SqlRows(await session.connection()).insert(LETTERS, ROWS)
    yield db
    await db.dispose()


async def answers(rows: Rows) -> list[list[int]]:
    return [
        [row["id"] for row in await rows.fetch_any(LETTERS, where, order_by=order, limit=limit)]
        for where, order, limit in ASKED
    ]


async def test_the_database_answers_alternatives_as_memory_does(database: Database) -> None:
    memory = MemoryRows()
    await memory.insert(LETTERS, ROWS)
    async with database.transaction() as session:
        on_database = await answers(SqlRows(await session.connection()))
    assert on_database == await answers(memory)
    assert on_database == [
        [2],
        [5],
        [1, 2, 6, 7],
        [5, 4, 3, 1],
        [7, 6, 5, 3],
        [1, 2, 3],
        [2, 4],
        [],
        [],
    ]


async def test_alternatives_listing_more_than_a_statement_takes_are_refused(database: Database) -> None:
    too_many = [{"id": In(range(MAX_LISTED))}, {"kind": In(["a"])}]
    with pytest.raises(ValueError, match="at most"):
        async with database.transaction() as session:
            await SqlRows(await session.connection()).fetch_any(LETTERS, too_many)
    with pytest.raises(ValueError, match="at most"):
        await MemoryRows().fetch_any(LETTERS, too_many)


@pytest.mark.postgres
async def test_locked_rows_are_waited_for_or_skipped(postgres_url: str) -> None:
    """A row locked by one transaction: ``update`` waits for it to commit, ``skip_locked`` leaves it out."""
    db = Database(postgres_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    async with db.transaction() as session:
        await SqlRows(await session.connection()).insert(LETTERS, ROWS)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.transaction() as session:
            await SqlRows(await session.connection()).fetch_any(LETTERS, [{"id": 1}], lock="update")
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await holding.wait()
        async with db.transaction() as session:
            rows = SqlRows(await session.connection())
            skipped = await rows.fetch_any(LETTERS, [{"kind": "a"}], order_by=["id"], lock="skip_locked")
        assert [row["id"] for row in skipped] == [3, 5]
        async with db.transaction() as session:
            rows = SqlRows(await session.connection())
            waiting = asyncio.create_task(rows.fetch_any(LETTERS, [{"id": 1}], lock="update"))
            await asyncio.sleep(0.2)
            assert not waiting.done(), "the lock holder has not committed yet"
            release.set()
            assert [row["id"] for row in await waiting] == [1]
    finally:
        release.set()
        await holder
        await db.dispose()
