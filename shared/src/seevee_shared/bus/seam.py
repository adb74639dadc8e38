"""The seam between the consumer and a service: typed payloads in, one store per poll.

A service declares, in its ``handlers.py``, one registry: topic -> payload model -> handler, each
handler being ``async def on_<topic>(payload, meta, store)``. The consumer decodes each record into
its payload model, and ``apply_poll`` gives the poll's events to one store: ``preload`` once, every
handler in order, ``write`` once, then the inbox rows. The same function applies a poll to the
database (the consumer's transaction) and to ``MemoryRows`` (unit tests), so both run one code path.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table

from seevee_shared.bus.tables import InboxRecord
from seevee_shared.cloudevents import InvalidEvent, TypedEvent, decode_as
from seevee_shared.db import utcnow
from seevee_shared.events import EventData
from seevee_shared.logging import event_log_context
from seevee_shared.store.base import Store
from seevee_shared.store.rows import In, Rows

T = TypeVar("T")
P = TypeVar("P", bound=EventData)
S = TypeVar("S", bound=Store)
Q = TypeVar("Q", bound=EventData)

INBOX: Table = InboxRecord.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class EventMeta:
    """What a handler may need of the envelope and the record besides the payload."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str
    workspace_id: str
    topic: str
    partition: int = 0
    offset: int = 0
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Event(Generic[T]):
    """One decoded event of a poll: its typed payload and its metadata."""

    payload: T
    meta: EventMeta


@dataclass(frozen=True)
class Reaction(Generic[S]):
    """A topic's payload model and the handler it is given to."""

    payload: type[EventData]
    handle: Callable[[Any, EventMeta, S], Awaitable[None]]


def on(payload: type[P], handle: Callable[[P, EventMeta, S], Awaitable[None]]) -> Reaction[S]:
    """Register ``handle`` for events whose data is ``payload`` (type-checked together)."""
    return Reaction(payload, handle)


@dataclass(frozen=True)
class Handlers(Generic[S]):
    """A service's registry: how to open its store on some rows, and what each topic is given to."""

    store: Callable[[Rows], S]
    topics: Mapping[str, Reaction[S]]
    prepare: Callable[[Sequence["Event[Any]"]], Awaitable[None]] | None = None
    """Slow I/O a poll needs (DNS, say), run by the consumer before the poll's transaction opens, so
    that no lookup waits inside it; the handlers find its answers where it left them."""

    def decode(
        self,
        raw: bytes | None,
        topic: str,
        partition: int = 0,
        offset: int = 0,
        key: bytes | None = None,
    ) -> Event[Any]:
        """A record's value as its topic's typed event; anything else is an ``InvalidEvent``."""
        reaction = self.topics.get(topic)
        if reaction is None:
            raise InvalidEvent(f"no handler for {topic!r}")
        envelope: TypedEvent[Any] = decode_as(raw, reaction.payload)
        if envelope.type != topic:
            raise InvalidEvent(f"event type {envelope.type!r} does not belong on {topic!r}")
        meta = EventMeta(
            id=envelope.id,
            type=envelope.type,
            source=envelope.source,
            time=envelope.time,
            subject=envelope.subject,
            workspace_id=envelope.workspaceid,
            topic=topic,
            partition=partition,
            offset=offset,
            key=key,
        )
        return Event(envelope.data, meta)


def of_type(events: Sequence[Event[Any]], payload: type[Q]) -> list[Event[Q]]:
    """The events of a poll whose payload is ``payload`` (for a store's ``preload``)."""
    return [event for event in events if isinstance(event.payload, payload)]


async def applied_already(rows: Rows, group: str, event_ids: Sequence[str]) -> set[str]:
    found = await rows.fetch(INBOX, {"consumer": group, "event_id": In(set(event_ids))})
    return {row["event_id"] for row in found}


async def record_applied(rows: Rows, group: str, events: Sequence[Event[Any]]) -> None:
    """The inbox rows of applied events, in one statement, in the transaction of their effects."""
    now = utcnow()
    await rows.insert(
        INBOX,
        [
            {"event_id": e.meta.id, "consumer": group, "topic": e.meta.topic, "processed_at": now}
            for e in events
        ],
    )


async def apply_poll(
    handlers: Handlers[Any], rows: Rows, group: str, events: Sequence[Event[Any]]
) -> list[Event[Any]]:
    """Apply a poll's events not applied before, through one store; returns those it applied.

    A poll may carry the same event twice, or one the inbox already holds: each applies once.
    """
    done = await applied_already(rows, group, [event.meta.id for event in events])
    todo: list[Event[Any]] = []
    for event in events:
        if event.meta.id not in done:
            done.add(event.meta.id)
            todo.append(event)
    if not todo:
        return todo
    store = handlers.store(rows)
    await store.preload(todo)
    for event in todo:
        with event_log_context(event.meta):
            await handlers.topics[event.meta.topic].handle(event.payload, event.meta, store)
    await store.write()
    await record_applied(rows, group, todo)
    return todo
