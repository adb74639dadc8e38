"""Where a store's rows live: the database (``SqlRows``) or plain dicts (``MemoryRows``, for unit tests).

Both answer the same four calls, so a service's ``Store`` (its loads, lookups and rules of writing)
is one class that runs over either. A load names a table and conditions on its columns (a value,
``In``, a range or a prefix: ``conditions.py``); ``fetch_any`` takes alternatives (rows matching any
of them), an order, a limit and a row lock. Writes are bulk inserts, updates and deletes by primary
key, one statement per table for a whole poll.
"""

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Table,
    UniqueConstraint,
    Update,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from seevee_shared.store.conditions import (
    MAX_LISTED,
    Desc,
    In,
    Lock,
    Matcher,
    Order,
    Shape,
    Where,
    bounded_parts,
    nothing_matches,
    shape_of,
    sql_conditions,
)

__all__ = ["In", "MemoryRows", "Row", "Rows", "SqlRows", "Where"]

Row = dict[str, Any]


class Rows(Protocol):
    async def fetch(self, table: Table, where: Where) -> list[Row]: ...

    async def insert(self, table: Table, rows: Sequence[Row]) -> None: ...

    async def update(self, table: Table, rows: Sequence[Row]) -> None:
        """Write every given column of each row, found by its primary key."""
        ...

    async def delete(self, table: Table, rows: Sequence[Row]) -> None:
        """Remove the rows with these primary keys."""
        ...

    async def fetch_any(
        self,
        table: Table,
        alternatives: Sequence[Where],
        *,
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        lock: Lock | None = None,
    ) -> list[Row]:
        """The rows matching at least one of ``alternatives`` (each once), in ``order_by``, at most
        ``limit`` of them, locked as ``lock`` says until the transaction ends."""
        ...


class SqlRows:
    """Rows in the database, on the caller's connection and inside its transaction.

    Each statement is built once per table and shape (columns, conditions, order) and reused, so
    SQLAlchemy's compiled cache answers it without walking a new statement per call.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def fetch(self, table: Table, where: Where) -> list[Row]:
        if nothing_matches(where):
            return []
        found: list[Row] = []
        for part in bounded_parts(where):
            shape, params = shape_of(part, "a0_")
            found.extend(await self._rows(_select(table, (shape,)), params))
        return found

    async def insert(self, table: Table, rows: Sequence[Row]) -> None:
        if rows:
            await self.connection.execute(_insert(table), list(rows))

    async def update(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        keys = _keys(table)
        values = tuple(name for name in rows[0] if name not in keys)
        params = [
            {**{f"key_{name}": row[name] for name in keys}, **{f"new_{name}": row[name] for name in values}}
            for row in rows
        ]
        await self.connection.execute(_update(table, values), params)

    async def delete(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        keys = _keys(table)
        params = [{f"key_{name}": row[name] for name in keys} for row in rows]
        await self.connection.execute(_delete(table), params)

    async def _rows(self, statement: Select[Any], params: dict[str, Any]) -> list[Row]:
        result = await self.connection.execute(statement, params)
        names = tuple(result.keys())
        return [dict(zip(names, row, strict=True)) for row in result]

    async def fetch_any(
        self,
        table: Table,
        alternatives: Sequence[Where],
        *,
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        lock: Lock | None = None,
    ) -> list[Row]:
        wanted = [where for where in _listed(alternatives) if not nothing_matches(where)]
        if not wanted:
            return []
        shapes: list[Shape] = []
        params: dict[str, Any] = {}
        for number, where in enumerate(wanted):
            shape, bound = shape_of(where, f"a{number}_")
            shapes.append(shape)
            params.update(bound)
        return await self._rows(_select(table, tuple(shapes), tuple(order_by), limit, lock), params)


@functools.lru_cache(maxsize=1024)
def _select(
    table: Table,
    shapes: tuple[Shape, ...],
    order_by: tuple[Order, ...] = (),
    limit: int | None = None,
    lock: Lock | None = None,
) -> Select[Any]:
    """The rows matching any of the shapes' conditions; alternative ``n`` binds its values as
    ``shape_of(where, f"a{n}_")`` names them."""
    if len(shapes) == 1:
        statement = select(table).where(*sql_conditions(table, shapes[0], "a0_"))
    else:
        matching = [_all(sql_conditions(table, shape, f"a{n}_")) for n, shape in enumerate(shapes)]
        statement = select(table).where(or_(*matching))
    for order in order_by:
        statement = statement.order_by(
            table.c[order.column].desc() if isinstance(order, Desc) else table.c[order]
        )
    if limit is not None:
        statement = statement.limit(limit)
    if lock is not None:
        statement = statement.with_for_update(skip_locked=lock == "skip_locked")
    return statement


def _all(conditions: tuple[ColumnElement[bool], ...]) -> ColumnElement[bool]:
    """Every condition holds (none: any row does)."""
    return and_(*conditions) if conditions else true()


@functools.cache
def _keys(table: Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.primary_key.columns)


@functools.cache
def _insert(table: Table) -> Insert:
    return insert(table)


@functools.lru_cache(maxsize=1024)
def _update(table: Table, values: tuple[str, ...]) -> Update:
    return (
        update(table)
        .where(*(table.c[name] == bindparam(f"key_{name}") for name in _keys(table)))
        .values({name: bindparam(f"new_{name}") for name in values})
    )


@functools.cache
def _delete(table: Table) -> Delete:
    return delete(table).where(*(table.c[name] == bindparam(f"key_{name}") for name in _keys(table)))


class MemoryRows:
    """Rows in dicts, keyed by primary key; refuses what the database's keys and unique constraints
    would refuse, with the same ``IntegrityError``, so a handler behaves here as it does on SQL."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple[Any, ...], Row]] = {}

    def rows(self, table: Table) -> list[Row]:
        """A table's rows (copies), in primary-key order: what tests compare."""
        stored = self.tables.get(table.name, {})
        return [dict(stored[key]) for key in sorted(stored)]

    async def fetch(self, table: Table, where: Where) -> list[Row]:
        matches = Matcher(table, where)
        return [row for row in self.rows(table) if matches(row)]

    async def insert(self, table: Table, rows: Sequence[Row]) -> None:
        stored = self.tables.setdefault(table.name, {})
        complete = [{column.name: row.get(column.name) for column in table.columns} for row in rows]
        for row in complete:
            _number(table, stored, row)
            key = _key(table, row)
            if key in stored:
                raise _refused(table, "primary key", row)
            _check_unique(table, stored.values(), row)
            stored[key] = row

    async def update(self, table: Table, rows: Sequence[Row]) -> None:
        stored = self.tables.setdefault(table.name, {})
        for row in rows:
            key = _key(table, row)
            if key in stored:
                merged = {**stored[key], **row}
                _check_unique(table, (other for k, other in stored.items() if k != key), merged)
                stored[key] = merged

    async def delete(self, table: Table, rows: Sequence[Row]) -> None:
        stored = self.tables.setdefault(table.name, {})
        for row in rows:
            stored.pop(_key(table, row), None)

    async def fetch_any(
        self,
        table: Table,
        alternatives: Sequence[Where],
        *,
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        lock: Lock | None = None,
    ) -> list[Row]:
        tests = [Matcher(table, where) for where in _listed(alternatives)]
        found = [row for row in self.rows(table) if any(matches(row) for matches in tests)]
        for order in reversed(order_by):  # stable sorts, the last key first
            name = order.column if isinstance(order, Desc) else order
            found.sort(key=lambda row: (row[name] is not None, row[name]), reverse=isinstance(order, Desc))
        return found if limit is None else found[:limit]


def _listed(alternatives: Sequence[Where]) -> Sequence[Where]:
    """Alternatives go in one statement (an order and a limit cannot be split), so their ``In`` lists
    together stay within what a statement may bind."""
    listed = sum(
        len(wanted.values) for where in alternatives for wanted in where.values() if isinstance(wanted, In)
    )
    if listed > MAX_LISTED:
        raise ValueError(f"the alternatives list {listed} values; at most {MAX_LISTED} go in one statement")
    return alternatives


def _number(table: Table, stored: Mapping[tuple[Any, ...], Row], row: Row) -> None:
    """An integer key left empty is numbered on, as the database's autoincrement would."""
    (first, *more) = table.primary_key.columns
    if not more and row[first.name] is None and first.autoincrement in (True, "auto"):
        row[first.name] = max((key[0] for key in stored), default=0) + 1


def _key(table: Table, row: Row) -> tuple[Any, ...]:
    return tuple(row[column.name] for column in table.primary_key.columns)


def _check_unique(table: Table, others: Iterable[Row], row: Row) -> None:
    """NULLs never collide, as in SQL."""
    others = list(others)
    constraints = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    singles = [(column.name,) for column in table.columns if column.unique]
    for names in [tuple(column.name for column in c.columns) for c in constraints] + singles:
        values = tuple(row[name] for name in names)
        if any(value is None for value in values):
            continue
        if any(tuple(other[name] for name in names) == values for other in others):
            raise _refused(table, f"unique {names}", row)


def _refused(table: Table, what: str, row: Row) -> IntegrityError:
    return IntegrityError(f"INSERT INTO {table.name}", row, Exception(f"{what} of {table.name} taken"))
