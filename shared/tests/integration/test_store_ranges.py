"""Range conditions on the real databases (SQLite, PostgreSQL) give what ``MemoryRows`` gives.

Times are written in several zones and asked for with bounds in others: every backend compares
instants, includes both ends, leaves NULLs out and refuses a naive bound.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.exc import StatementError

from seevee_shared.db import Database, UtcDateTime
from seevee_shared.store import AtLeast, AtMost, Between, In, MemoryRows, Rows, SqlRows
from seevee_shared.store.conditions import Where

PARIS = timezone(timedelta(hours=1))
TOKYO = timezone(timedelta(hours=9))
NEW_YORK = timezone(timedelta(hours=-5))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

METADATA = MetaData()
MOMENTS = Table(
    "range_moments",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=True),
    Column("size", Integer, nullable=True),
    Column("name", String(20)),
)
ROWS: list[dict[str, Any]] = [
    {"id": 1, "at": (T0 - timedelta(days=1)).astimezone(TOKYO), "size": 1, "name": "a"},
    {"id": 2, "at": T0, "size": 2, "name": "b"},
    {"id": 3, "at": (T0 + timedelta(microseconds=1)).astimezone(PARIS), "size": 3, "name": "c"},
    {"id": 4, "at": (T0 + timedelta(hours=5)).astimezone(NEW_YORK), "size": None, "name": "d"},
    {"id": 5, "at": None, "size": 5, "name": "e"},
    {"id": 6, "at": T0 + timedelta(days=30), "size": 6, "name": "f"},
]
QUERIES: list[Where] = [
    {"at": Between(T0.astimezone(NEW_YORK), (T0 + timedelta(hours=5)).astimezone(TOKYO))},
    {"at": Between(T0 + timedelta(microseconds=1), T0 + timedelta(days=1))},
    {"at": AtLeast(T0.astimezone(PARIS))},
    {"at": AtMost((T0 - timedelta(days=1)).astimezone(NEW_YORK))},
    {"at": AtMost(T0 - timedelta(days=2))},
    {"size": Between(2, 5)},
    {"size": AtLeast(3), "at": AtMost(T0 + timedelta(days=1))},
    {"name": In(["a", "c", "f"]), "at": AtLeast(T0)},
    {"name": Between("b", "d")},
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path}/ranges.db"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    async with db.engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    async with db.transaction() as session:
        await SqlRows(await session.connection()).insert(MOMENTS, ROWS)
    yield db
    await db.dispose()


async def answers(rows: Rows) -> list[list[int]]:
    return [sorted(row["id"] for row in await rows.fetch(MOMENTS, where)) for where in QUERIES]


async def test_the_database_answers_ranges_as_memory_does(database: Database) -> None:
    memory = MemoryRows()
    await memory.insert(MOMENTS, ROWS)
    async with database.transaction() as session:
        on_database = await answers(SqlRows(await session.connection()))
    assert on_database == await answers(memory)
    assert on_database == [[2, 3, 4], [3, 4], [2, 3, 4, 6], [1], [], [2, 3, 5], [3], [3, 6], [2, 3, 4]]


async def test_times_come_back_in_utc_from_a_range(database: Database) -> None:
    async with database.transaction() as session:
        found = await SqlRows(await session.connection()).fetch(MOMENTS, {"at": Between(T0, T0)})
    assert [(row["id"], row["at"], row["at"].utcoffset()) for row in found] == [(2, T0, timedelta(0))]


async def test_a_naive_bound_is_refused_by_the_database_as_by_memory(database: Database) -> None:
    naive = {"at": AtLeast(T0.replace(tzinfo=None))}
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as session:
            await SqlRows(await session.connection()).fetch(MOMENTS, naive)
    memory = MemoryRows()
    await memory.insert(MOMENTS, ROWS)
    with pytest.raises(StatementError, match="naive datetime"):
        await memory.fetch(MOMENTS, naive)


async def test_in_lists_longer_than_a_statement_takes_still_load_each_row_once(database: Database) -> None:
    """40,000 listed values (a whole prefill poll) in two lists: more than the drivers' 32,767 bound
    parameters, so the load goes out in parts, and a row matching several parts comes back once."""
    many = [{"id": 100 + n, "at": T0, "size": n % 3, "name": f"n-{n}"} for n in range(7_000)]
    async with database.transaction() as session:
        rows = SqlRows(await session.connection())
        await rows.insert(MOMENTS, many)
        wanted = {
            "name": In([f"n-{n}" for n in range(30_000)] + ["n-5", "n-5"]),
            "id": In(list(range(100, 10_100))),
            "size": 1,
        }
        found = await rows.fetch(MOMENTS, wanted)
    assert sorted(row["id"] for row in found) == [100 + n for n in range(7_000) if n % 3 == 1]
