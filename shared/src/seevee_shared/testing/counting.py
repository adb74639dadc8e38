"""Rows that count what a store fetched, over real rows: for tests that a poll's reads stay bounded."""

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Table

from seevee_shared.store.conditions import Where
from seevee_shared.store.rows import Row, Rows


class CountingRows:
    """Passes every call to ``rows`` (``SqlRows`` or ``MemoryRows``), counting the rows each table's
    loads fetched and the loads themselves."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.fetched: Counter[str] = Counter()
        self.loads: Counter[str] = Counter()

    async def fetch(self, table: Table, where: Where) -> list[Row]:
        found = await self.rows.fetch(table, where)
        self.fetched[table.name] += len(found)
        self.loads[table.name] += 1
        return found

    async def insert(self, table: Table, rows: Sequence[Row]) -> None:
        await self.rows.insert(table, rows)

    async def update(self, table: Table, rows: Sequence[Row]) -> None:
        await self.rows.update(table, rows)

    async def delete(self, table: Table, rows: Sequence[Row]) -> None:
        await self.rows.delete(table, rows)
