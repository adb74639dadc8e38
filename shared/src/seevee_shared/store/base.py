"""The base of every service's ``Store``: an identity map, pending writes, and the outbox, for one poll.

A service's store declares its ``entities`` (a table and the plain class its rows become), loads in
``preload`` what a poll needs in one query per table, answers its handlers' lookups from what it
loaded, and records what they change with ``add``, ``changed`` and ``remove``. ``write`` then sends
it all as one bulk statement per table (deletes, inserts in foreign-key order, updates), plus the
poll's outbox rows: no ORM object and no flush per event. A row loaded twice is the same object, so
a change made by one event is what the next event of the poll sees.
"""

import dataclasses
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CloudEvent, encode
from seevee_shared.db import utcnow
from seevee_shared.store.conditions import Lock, Order, Where
from seevee_shared.store.rows import Row, Rows, SqlRows

E = TypeVar("E")

OUTBOX: Table = OutboxRecord.__table__  # type: ignore[attr-defined]


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (what the store reads and writes with)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


class Entity(Generic[E]):
    """A table and the plain dataclass its rows become in the store; the fields are the columns."""

    def __init__(self, table: Table | type[SQLModel], row: type[E]) -> None:
        self.table = table if isinstance(table, Table) else table_of(table)
        self.row = row
        self.columns = tuple(column.name for column in self.table.columns)
        self.keys = tuple(column.name for column in self.table.primary_key.columns)
        key_columns = list(self.table.primary_key.columns)
        numbered = len(key_columns) == 1 and key_columns[0].autoincrement in (True, "auto")
        self.numbered = key_columns[0].name if numbered and key_columns[0].type.python_type is int else None
        """An integer key the database numbers: left out of an insert while None (and stays None on
        the object: nothing reads it back)."""
        fields = {field.name for field in dataclasses.fields(row)}  # type: ignore[arg-type]
        if fields != set(self.columns):
            raise TypeError(f"{row.__name__} must have exactly the columns of {self.table.name}")
        self._copied = not hasattr(row, "__slots__")
        """A plain dataclass's fields are its ``__dict__``: copied whole, the quickest row there is."""
        self._filled = self._copied and not hasattr(row, "__post_init__")
        """... and a loaded row can become its ``__dict__`` without a call of ``__init__`` per row."""
        self.key: Callable[[Any], tuple[Any, ...]] = _tuple_getter(operator.attrgetter, self.keys)
        """The primary key of an object."""
        self.row_key: Callable[[Mapping[str, Any]], tuple[Any, ...]] = _tuple_getter(
            operator.itemgetter, self.keys
        )
        """The primary key of a row."""

    def build(self, mapping: Row) -> E:
        """The object of a loaded row (which it keeps as its fields when it is a plain dataclass)."""
        if self._filled:
            obj: E = object.__new__(self.row)
            vars(obj).update(mapping)
            return obj
        return self.row(**mapping)

    def values(self, obj: Any) -> Row:
        """The row of an object: its fields, which are exactly the columns."""
        if self._copied:
            row: Row = vars(obj).copy()
            return row
        return {name: getattr(obj, name) for name in self.columns}

    def new_values(self, obj: Any) -> Row:
        row = self.values(obj)
        if self.numbered is not None and row[self.numbered] is None:
            del row[self.numbered]
        return row


class Store:
    """One poll's (or one request's) view of a service's tables; subclasses declare ``entities``."""

    entities: ClassVar[Sequence[Entity[Any]]] = ()

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self._by_class = {entity.row: entity for entity in self.entities}
        self._known: dict[tuple[str, tuple[Any, ...]], Any] = {}
        self._new: dict[str, dict[tuple[Any, ...], Any]] = {}
        self._dirty: dict[str, dict[tuple[Any, ...], Any]] = {}
        self._gone: dict[str, dict[tuple[Any, ...], Any]] = {}
        self._events: list[CloudEvent] = []
        self.published = 0
        """Outbox rows this store has written (the API wakes the relay only when there are some)."""

    async def preload(self, events: Sequence[Any]) -> None:
        """Load, in one query per table, what the poll's events (``Event`` values) will look up."""

    @property
    def connection(self) -> AsyncConnection:
        """The database connection, for the queries only SQL can answer (API listings); a store over
        ``MemoryRows`` has none."""
        if not isinstance(self.rows, SqlRows):
            raise TypeError("this query needs the database; the in-memory store cannot answer it")
        return self.rows.connection

    async def load(self, entity: Entity[E], **where: Any) -> list[E]:
        """The rows of ``entity`` matching ``where``, as the objects this store already holds for them
        when it does (so a change not yet written is never overwritten by an older read)."""
        return self._as_loaded(entity, await self.rows.fetch(entity.table, where))

    async def load_any(
        self,
        entity: Entity[E],
        alternatives: Sequence[Where],
        *,
        order_by: Sequence[Order] = (),
        limit: int | None = None,
        lock: Lock | None = None,
    ) -> list[E]:
        """The rows matching any of ``alternatives`` (``Rows.fetch_any``), as ``load`` gives them: the
        objects this store already holds where it holds them."""
        rows = await self.rows.fetch_any(
            entity.table, alternatives, order_by=order_by, limit=limit, lock=lock
        )
        return self._as_loaded(entity, rows)

    def _as_loaded(self, entity: Entity[E], rows: list[Row]) -> list[E]:
        """The objects of loaded rows: those already held where there are some, else new ones."""
        found: list[E] = []
        name, key_of, known_objects = entity.table.name, entity.row_key, self._known
        for mapping in rows:
            identity = (name, key_of(mapping))
            known = known_objects.get(identity)
            if known is None:
                known = known_objects[identity] = entity.build(mapping)
            found.append(known)
        return found

    def known(self, entity: Entity[E], *key: Any) -> E | None:
        """The object held for this primary key, if the store loaded or added it."""
        found: E | None = self._known.get((entity.table.name, key))
        return found

    def add(self, obj: Any) -> None:
        """A new row, inserted at ``write``; later changes to the object are part of the insert."""
        entity = self._entity(obj)
        key = entity.key(obj)
        if entity.numbered is not None and None in key:  # numbered by the database: no identity yet
            key = ("new", id(obj))
        else:
            self._known[(entity.table.name, key)] = obj
        self._new.setdefault(entity.table.name, {})[key] = obj

    def changed(self, obj: Any) -> None:
        """A loaded row whose object the handler changed: written back whole at ``write``."""
        entity = self._entity(obj)
        key = entity.key(obj)
        if key not in self._new.get(entity.table.name, {}):
            self._dirty.setdefault(entity.table.name, {})[key] = obj

    def remove(self, obj: Any) -> None:
        """A row to delete at ``write`` (one added in this store is simply never inserted)."""
        entity = self._entity(obj)
        key = entity.key(obj)
        self._known.pop((entity.table.name, key), None)
        if self._new.get(entity.table.name, {}).pop(key, None) is not None:
            return
        self._dirty.get(entity.table.name, {}).pop(key, None)
        self._gone.setdefault(entity.table.name, {})[key] = obj

    def publish(self, event: CloudEvent) -> None:
        """Queue an event in the outbox, written with the rest: published only if all commits."""
        self._events.append(event)

    async def write(self) -> None:
        """Everything pending, one statement per table: deletes children first, inserts parents
        first, updates, then the outbox."""
        order = self._write_order()
        for name in reversed(order):
            gone = self._gone.pop(name, None)
            if gone:
                entity = self._entity_named(name)
                await self.rows.delete(entity.table, [entity.values(obj) for obj in gone.values()])
        for name in order:
            pending = self._new.pop(name, None)
            if pending:
                entity = self._entity_named(name)
                await self.rows.insert(entity.table, [entity.new_values(obj) for obj in pending.values()])
        for name in order:
            dirty = self._dirty.pop(name, None)
            if dirty:
                entity = self._entity_named(name)
                await self.rows.update(entity.table, [entity.values(obj) for obj in dirty.values()])
        if self._events:
            now = utcnow()
            await self.rows.insert(OUTBOX, [_outbox_row(event, now) for event in self._events])
            self.published += len(self._events)
            self._events.clear()

    def _entity(self, obj: Any) -> Entity[Any]:
        try:
            return self._by_class[type(obj)]
        except KeyError:
            raise TypeError(f"{type(obj).__name__} is none of {type(self).__name__}'s entities") from None

    def _entity_named(self, name: str) -> Entity[Any]:
        return next(entity for entity in self.entities if entity.table.name == name)

    def _write_order(self) -> list[str]:
        return _write_order(tuple(entity.table for entity in self.entities))


@functools.cache
def _write_order(tables: tuple[Table, ...]) -> list[str]:
    """Tables in foreign-key order (parents before children), whatever order they were touched."""
    if not tables:
        return []
    ours = {table.name for table in tables}
    return [table.name for table in tables[0].metadata.sorted_tables if table.name in ours]


def _tuple_getter(getter: Any, names: tuple[str, ...]) -> Any:
    """``getter(*names)`` that always answers a tuple (``itemgetter`` of one name answers the value)."""
    if len(names) == 1:
        one = getter(names[0])
        return lambda source: (one(source),)
    return getter(*names)


def _outbox_row(event: CloudEvent, now: Any) -> Row:
    return {
        "event_id": event.id,
        "topic": event.type,
        "key": event.subject,
        "payload": encode(event),
        "created_at": now,
        "published_at": None,
    }
