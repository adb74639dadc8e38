"""Load conditions: ranges in memory (``MemoryRows``) and as the SQL ``SqlRows`` sends, without a database.

The same conditions against real SQLite and PostgreSQL are in ``integration/test_store_ranges.py``.
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError

from seevee_shared.db import UtcDateTime
from seevee_shared.store import AtLeast, AtMost, Between, In, MemoryRows
from seevee_shared.store.conditions import Where, bounded_parts, shape_of, sql_conditions

PARIS = timezone(timedelta(hours=1))
NEW_YORK = timezone(timedelta(hours=-5))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

TIMES = Table(
    "moments",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=True),
    Column("size", Integer, nullable=True),
    Column("name", String(20)),
)


async def memory_with(*rows: dict[str, object]) -> MemoryRows:
    memory = MemoryRows()
    await memory.insert(TIMES, list(rows))
    return memory


async def ids(memory: MemoryRows, where: Where) -> list[int]:
    return [row["id"] for row in await memory.fetch(TIMES, where)]


@pytest.fixture
async def memory() -> MemoryRows:
    return await memory_with(
        {"id": 1, "at": T0 - timedelta(hours=1), "size": 1, "name": "a"},
        {"id": 2, "at": T0, "size": 2, "name": "b"},
        {"id": 3, "at": (T0 + timedelta(hours=1)).astimezone(PARIS), "size": 3, "name": "c"},
        {"id": 4, "at": T0 + timedelta(hours=2), "size": None, "name": "d"},
        {"id": 5, "at": None, "size": 5, "name": "e"},
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"size": Between(2, 3)}, [2, 3]),  # both ends included
        ({"size": Between(3, 2)}, []),
        ({"size": AtLeast(3)}, [3, 5]),  # NULL is in no range
        ({"size": AtMost(2)}, [1, 2]),
        ({"name": Between("b", "d")}, [2, 3, 4]),
        ({"at": Between(T0, T0 + timedelta(hours=1))}, [2, 3]),
        ({"at": AtLeast(T0 + timedelta(hours=1))}, [3, 4]),
        ({"at": AtMost(T0)}, [1, 2]),
        ({"at": AtLeast(T0), "size": AtMost(2)}, [2]),
        ({"at": AtLeast(T0), "name": In(["c", "e"])}, [3]),
    ],
)
async def test_a_range_keeps_the_rows_inside_it_ends_included(
    memory: MemoryRows, where: Where, expected: list[int]
) -> None:
    assert await ids(memory, where) == expected


async def test_a_time_bound_means_its_instant_whatever_the_zone(memory: MemoryRows) -> None:
    at_nine_in_new_york = T0.astimezone(NEW_YORK)  # 04:00 in New York is 09:00 UTC
    assert await ids(memory, {"at": Between(at_nine_in_new_york, T0.astimezone(PARIS))}) == [2]
    assert await ids(memory, {"at": AtLeast((T0 + timedelta(hours=1)).astimezone(NEW_YORK))}) == [3, 4]
    assert await ids(memory, {"at": (T0 + timedelta(hours=1)).astimezone(NEW_YORK)}) == [3]
    assert await ids(memory, {"at": In([T0.astimezone(PARIS)])}) == [2]


@pytest.mark.parametrize(
    "where",
    [
        {"at": Between(T0.replace(tzinfo=None), T0)},
        {"at": AtLeast(T0.replace(tzinfo=None))},
        {"at": AtMost(T0.replace(tzinfo=None))},
        {"at": T0.replace(tzinfo=None)},
    ],
)
async def test_a_naive_time_bound_is_refused_as_the_database_refuses_it(
    memory: MemoryRows, where: Where
) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await memory.fetch(TIMES, where)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgres"])
def test_sql_ranges_are_between_and_comparisons(dialect: Dialect) -> None:
    where = {"at": Between(T0, T0 + timedelta(days=1)), "size": AtLeast(2), "id": AtMost(9)}
    shape, params = shape_of(where)
    compiled = select(TIMES.c.id).where(*sql_conditions(TIMES, shape)).compile(dialect=dialect)
    sql = " ".join(str(compiled).split())
    assert "moments.at BETWEEN" in sql
    assert "moments.size >=" in sql
    assert "moments.id <=" in sql
    bound = compiled.construct_params(params).values()
    assert sorted(bound, key=repr) == sorted([T0, T0 + timedelta(days=1), 2, 9], key=repr)
    assert shape_of({**where, "size": AtLeast(5)})[0] == shape, "the shape leaves the values out"
    assert sql_conditions(TIMES, shape) is sql_conditions(TIMES, shape), "built once per shape"


def test_a_where_listing_too_many_values_is_cut_into_disjoint_parts() -> None:
    where = {"name": In([f"n-{n}" for n in range(9)] + ["n-1"]), "id": In([1, 2, 3]), "size": 2}
    parts = bounded_parts(where, limit=6)
    assert all(sum(len(v.values) for v in part.values() if isinstance(v, In)) <= 6 for part in parts)
    listed = [value for part in parts for value in part["name"].values]
    assert sorted(listed) == sorted(f"n-{n}" for n in range(9)), "every value once, duplicates dropped"
    assert all(part["id"] == In([1, 2, 3]) and part["size"] == 2 for part in parts)
    assert bounded_parts(where, limit=20) == [where]
