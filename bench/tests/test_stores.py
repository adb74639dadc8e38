"""A figure's stores: an empty one is empty, a copy holds the template's rows and is independent of it."""

from pathlib import Path

import pytest
from sqlalchemy import text

from bench.stores import PostgresStores, SqliteStores, Stores
from seevee_shared.db import Database


async def _rows(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.reading() as connection:
            return [row[0] for row in await connection.execute(text("SELECT name FROM sample ORDER BY name"))]
    finally:
        await db.dispose()


async def _run(url: str, *statements: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await db.dispose()


async def _check(stores: Stores) -> None:
    template = await stores.empty("template")
    await _run(
        template, "CREATE TABLE sample (name VARCHAR(20) PRIMARY KEY)", "INSERT INTO sample VALUES ('a')"
    )
    copy = await stores.copy(template, "copy")
    assert copy != template
    await _run(copy, "INSERT INTO sample VALUES ('b')")
    assert await _rows(copy) == ["a", "b"]
    assert await _rows(template) == ["a"]
    again = await stores.copy(template, "copy")  # a second copy of one name replaces the first
    assert await _rows(again) == ["a"]
    emptied = await stores.empty("template")
    await _run(emptied, "CREATE TABLE sample (name VARCHAR(20) PRIMARY KEY)")
    assert await _rows(emptied) == []


async def test_sqlite_copies_are_independent(tmp_path: Path) -> None:
    await _check(SqliteStores(tmp_path))


@pytest.mark.postgres
async def test_postgres_copies_are_independent(postgres_server: str) -> None:
    await _check(PostgresStores(postgres_server, "bench_test"))
