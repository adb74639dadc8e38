"""The base suite every consuming service runs: however a poll is cut, retried or stored, same state.

A service's tests subclass ``PollSuite`` as ``TestPolls`` and declare its handlers, migrations, the
tables to compare and a poll of events worth checking (duplicates, several events of one key, ...).
The suite then applies that poll at once (and checks it needed no careful path), one event at a time,
twice (a redelivery), on the careful path from the start, and to the in-memory store, and requires the
same rows, inbox and outbox from each. ``check`` adds what the service expects of that state.
"""

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Table

from seevee_shared.bus.consumer import EventConsumer
from seevee_shared.bus.seam import INBOX, Event, Handlers, apply_poll
from seevee_shared.cloudevents import CloudEvent, encode
from seevee_shared.db import Database
from seevee_shared.store import MemoryRows, Rows, SqlRows
from seevee_shared.store.base import OUTBOX
from seevee_shared.testing import polled

State = dict[str, list[tuple[Any, ...]]]
"""Table name -> its rows as sorted tuples, without the columns the clock or the database sets."""

_BUS_TABLES: dict[Table, Collection[str]] = {
    INBOX: ("processed_at",),
    OUTBOX: ("seq", "payload", "created_at", "published_at"),
}


def events_of(handlers: Handlers[Any], events: Sequence[CloudEvent]) -> list[Event[Any]]:
    """CloudEvents as the consumer hands them to a store (decoded exactly as from Kafka)."""
    return [handlers.decode(encode(event), event.type, 0, offset) for offset, event in enumerate(events)]


async def read_state(rows: Rows, tables: Mapping[Table, Collection[str]]) -> State:
    state: State = {}
    for table, skipped in {**tables, **_BUS_TABLES}.items():
        names = [column.name for column in table.columns if column.name not in skipped]
        found = await rows.fetch(table, {})
        state[table.name] = sorted((tuple(row[name] for name in names) for row in found), key=repr)
    return state


class PollSuite:
    """Subclass as ``TestPolls``; set the class attributes and give ``handlers`` and ``poll``."""

    group: ClassVar[str]
    migrations: ClassVar[Path]
    tables: ClassVar[Mapping[Table, Collection[str]]]
    """The service's tables -> the columns left out of the comparison (set by the clock)."""

    def handlers(self) -> Handlers[Any]:
        raise NotImplementedError

    async def seed(self, rows: Rows) -> None:
        """Rows the poll needs that no consumed event creates (a run the API made), written first."""

    def before(self) -> list[CloudEvent]:
        """Events applied, as their own poll, before the poll under test."""
        return []

    def poll(self) -> list[CloudEvent]:
        raise NotImplementedError

    def check(self, state: State) -> None:
        """What the service expects of the state the poll leaves."""

    async def _on_database(
        self,
        path: Path,
        before: Sequence[CloudEvent],
        polls: Sequence[Sequence[CloudEvent]],
        careful: bool = False,
    ) -> State:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.upgrade(self.migrations)
        consumer = EventConsumer(group=self.group, db=db, handlers=self.handlers())
        try:
            async with db.transaction() as session:
                await self.seed(SqlRows(await session.connection()))
            await consumer.apply(polled(before))
            for poll in polls:
                await consumer.apply(polled(poll), careful=careful)
            if not careful:
                assert consumer.careful_polls == 0, "a poll failed on its straight path"
            async with db.transaction() as session:
                return await read_state(SqlRows(await session.connection()), self.tables)
        finally:
            await db.dispose()

    async def test_a_poll_at_once_leaves_what_one_event_at_a_time_leaves(self, tmp_path: Path) -> None:
        before, poll = self.before(), self.poll()
        together = await self._on_database(tmp_path / "together.db", before, [poll])
        one_by_one = await self._on_database(tmp_path / "one-by-one.db", before, [[e] for e in poll])
        same(together, one_by_one, "at once", "one event at a time")
        self.check(together)

    async def test_a_redelivered_poll_changes_nothing(self, tmp_path: Path) -> None:
        before, poll = self.before(), self.poll()
        once = await self._on_database(tmp_path / "once.db", before, [poll])
        twice = await self._on_database(tmp_path / "twice.db", before, [poll, poll])
        same(once, twice, "delivered once", "delivered twice")

    async def test_the_careful_path_leaves_what_the_straight_path_leaves(self, tmp_path: Path) -> None:
        before, poll = self.before(), self.poll()
        straight = await self._on_database(tmp_path / "straight.db", before, [poll])
        careful = await self._on_database(tmp_path / "careful.db", before, [poll], careful=True)
        same(straight, careful, "straight path", "careful path")

    async def test_the_in_memory_store_leaves_what_the_database_leaves(self, tmp_path: Path) -> None:
        before, poll = self.before(), self.poll()
        on_database = await self._on_database(tmp_path / "database.db", before, [poll])
        rows, handlers = MemoryRows(), self.handlers()
        await self.seed(rows)
        for events in (before, poll):
            await apply_poll(handlers, rows, self.group, events_of(handlers, events))
        same(on_database, await read_state(rows, self.tables), "database", "in memory")


def same(left: State, right: State, left_name: str, right_name: str) -> None:
    """Equal states, or an error that names the tables and rows that differ."""
    differences = []
    for table in sorted(set(left) | set(right)):
        mine, theirs = left.get(table, []), right.get(table, [])
        if mine != theirs:
            only_left = [row for row in mine if row not in theirs]
            only_right = [row for row in theirs if row not in mine]
            differences.append(f"{table}: only {left_name}: {only_left}; only {right_name}: {only_right}")
    if differences:
        raise AssertionError("\n".join(differences))


async def in_memory(handlers: Handlers[Any], *polls: Sequence[CloudEvent], group: str = "test") -> MemoryRows:
    """Apply polls of CloudEvents to a fresh in-memory store, as the consumer would: for handler unit
    tests without a database (read the result with ``MemoryRows.rows(table)``)."""
    rows = MemoryRows()
    for poll in polls:
        await apply_poll(handlers, rows, group, events_of(handlers, poll))
    return rows
