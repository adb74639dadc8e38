"""THE OLD PATH: handlers that take ``(session, CloudEvent)``, with an optional per-poll prefetch.

Kept only until every service has moved to the seam (``seevee_shared.bus.seam``: typed payloads and a
``Store`` per poll); the service that converts last deletes this module, ``LegacyHandler`` in
``EventConsumer`` and ``build_service``, and ``shared/tests/integration/test_consumer_prefetch.py``.
"""

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.seam import Event, EventMeta
from seevee_shared.cloudevents import CloudEvent, InvalidEvent, decode
from seevee_shared.logging import event_log_context

LegacyHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
Prefetch = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]

_LOOKUPS = "seevee.poll_lookups"


@dataclass(frozen=True)
class PrefetchingHandler:
    """A handler with a prefetch: called once per poll, before the handlers, with the poll's events of
    the topic, it loads what they need in bulk and records it with ``poll_lookups``."""

    handle: LegacyHandler
    prefetch: Prefetch

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        await self.handle(session, event)


def poll_lookups(session: AsyncSession) -> dict[Hashable, Any] | None:
    """What the poll's prefetches found, by lookup key (None: looked up and absent), or None when the
    session is not a prefetched poll's (the careful path, the API, tests), so the handler queries."""
    lookups: dict[Hashable, Any] | None = session.info.get(_LOOKUPS)
    return lookups


def decode_legacy(
    raw: bytes | None, topic: str, partition: int, offset: int, key: bytes | None
) -> Event[Any]:
    """The record as an ``Event`` whose payload is the whole CloudEvent (old handlers decode their data)."""
    event = decode(raw)
    if event.type != topic:
        raise InvalidEvent(f"event type {event.type!r} does not belong on {topic!r}")
    meta = EventMeta(
        id=event.id,
        type=event.type,
        source=event.source,
        time=event.time,
        subject=event.subject,
        workspace_id=event.workspaceid,
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
    )
    return Event(event, meta)


async def apply_legacy(
    session: AsyncSession,
    handlers: Mapping[str, LegacyHandler],
    events: Sequence[Event[Any]],
    *,
    prefetch: bool,
) -> None:
    """Run old handlers on the session; with ``prefetch`` (the straight path) their prefetches first."""
    if prefetch:
        session.info[_LOOKUPS] = {}
        by_topic: dict[str, list[CloudEvent]] = {}
        for event in events:
            by_topic.setdefault(event.meta.topic, []).append(event.payload)
        for topic, of_topic in by_topic.items():
            handler = handlers[topic]
            if isinstance(handler, PrefetchingHandler):
                await handler.prefetch(session, of_topic)
    for event in events:
        with event_log_context(event.meta):
            await handlers[event.meta.topic](session, event.payload)
    await session.flush()
