"""The consumer every service uses: CloudEvent decoding, inbox, retry, dead-letter, commit after the DB.

One poll is applied in one transaction, then the offsets are committed: an effect is never committed to
Kafka before it is committed to the store, and the inbox row written with it makes a redelivery a no-op.
The poll goes straight through first; only if an event fails is it applied again with a savepoint per
event. On the straight path a handler may come with a prefetch that loads, in one query per table,
every row the poll's events will look up (see ``PrefetchingHandler`` and ``poll_lookups``).
"""

import asyncio
import hashlib
import traceback
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import Counter
from sqlalchemy import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.errors import PERMANENT, is_transient
from seevee_shared.bus.tables import InboxRecord
from seevee_shared.cloudevents import CloudEvent, InvalidEvent, decode
from seevee_shared.db import Database, utcnow
from seevee_shared.events import dlq_topic
from seevee_shared.logging import event_log_context, get_logger

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
Prefetch = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]

_LOOKUPS = "seevee.poll_lookups"


@dataclass(frozen=True)
class PrefetchingHandler:
    """A handler with a prefetch: called once per poll, before the handlers, with the poll's events of
    the topic, it loads what they need in bulk and records it with ``poll_lookups``."""

    handle: Handler
    prefetch: Prefetch

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        await self.handle(session, event)


def poll_lookups(session: AsyncSession) -> dict[Hashable, Any] | None:
    """What the poll's prefetches found, by lookup key (None: looked up and absent), or None when the
    session is not a prefetched poll's (the careful path, the API, tests), so the handler queries.

    A handler that writes a row under such a key records it here, so later events of the poll see it.
    The map lives and dies with the straight path's session: its rollback discards it whole.
    """
    lookups: dict[Hashable, Any] | None = session.info.get(_LOOKUPS)
    return lookups


log = get_logger(__name__)

EVENTS = Counter("seevee_consumer_events_total", "Records seen by consumers", ["group", "topic", "outcome"])

DLQ_HEADERS = (
    "x-error-type",
    "x-error-message",
    "x-error-stack-digest",
    "x-original-topic",
    "x-original-partition",
    "x-original-offset",
    "x-attempts",
)


@dataclass
class _Dead:
    record: ConsumerRecord[Any, Any]
    error: BaseException
    attempts: int


@dataclass
class _Batch:
    live: list[tuple[ConsumerRecord[Any, Any], CloudEvent]] = field(default_factory=list)
    dead: list[_Dead] = field(default_factory=list)


class EventConsumer:
    """Applies records of the given topics to one service's store through its registered handlers."""

    def __init__(
        self,
        *,
        group: str,
        db: Database,
        handlers: dict[str, Handler],
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 10.0,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.group = group
        self.db = db
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.after_commit = after_commit
        self._broker: KafkaBroker | None = None

    def attach(self, broker: KafkaBroker, *, max_records: int = 500) -> None:
        """Subscribe to every handled topic as one batch subscriber of the service's group."""
        self._broker = broker

        async def on_batch(body: Any, msg: KafkaMessage) -> None:
            records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
            await self.apply(records)
            try:
                await msg.ack()
            except Exception as exc:  # a rebalance took the partitions: the inbox absorbs the redelivery
                log.warning("offset commit failed", group=self.group, error=repr(exc))

        broker.subscriber(
            *self.handlers,
            group_id=self.group,
            batch=True,
            max_records=max_records,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_body,
        )(on_batch)

    async def apply(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply a poll's records; returns only when each is in the store or dead-lettered."""
        batch = self._decode(records)
        failures: dict[str, tuple[int, BaseException]] = {}
        delay = self.backoff_seconds
        while True:
            try:
                await self._apply_once(batch, failures)
                break
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("transient failure, retrying", group=self.group, error=repr(exc), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_seconds)
        if self.after_commit is not None:
            self.after_commit()
        for dead in batch.dead:
            await self._dead_letter(dead)

    def _decode(self, records: Sequence[ConsumerRecord[Any, Any]]) -> _Batch:
        batch = _Batch()
        for record in records:
            try:
                event = decode(record.value)
                if event.type != record.topic or event.type not in self.handlers:
                    raise InvalidEvent(f"event type {event.type!r} does not belong on {record.topic!r}")
            except InvalidEvent as exc:
                batch.dead.append(_Dead(record, exc, 1))
                continue
            batch.live.append((record, event))
        return batch

    async def _apply_once(self, batch: _Batch, failures: dict[str, tuple[int, BaseException]]) -> None:
        """One transaction for the poll: first straight through, and only if an event fails, again
        with a savepoint per event so that the failing one rolls back alone."""
        if not failures:
            try:
                await self._apply_straight(batch)
                return
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.warning("an event of the poll failed; applying one by one", error=repr(exc))
        dead_now: list[_Dead] = []
        async with self.db.transaction() as session:
            done = await self._already_applied(session, [event.id for _, event in batch.live])
            for record, event in batch.live:
                if event.id in done:
                    EVENTS.labels(self.group, record.topic, "duplicate").inc()
                    continue
                if await self._apply_event(session, record, event, failures, dead_now):
                    done.add(event.id)
        batch.dead.extend(dead_now)

    async def _apply_straight(self, batch: _Batch) -> None:
        """The common case, without a savepoint per event: the inbox rows go in as one bulk insert."""
        async with self.db.transaction() as session:
            done = await self._already_applied(session, [event.id for _, event in batch.live])
            todo: list[CloudEvent] = []
            for _, event in batch.live:
                if event.id not in done:
                    done.add(event.id)
                    todo.append(event)
            await self._prefetch(session, todo)
            applied: list[tuple[str, str]] = []
            for event in todo:
                with event_log_context(event):
                    await self.handlers[event.type](session, event)
                applied.append((event.id, event.type))
            await session.flush()
            if applied:
                now = utcnow()
                connection = await session.connection()
                await connection.execute(
                    insert(InboxRecord.__table__),  # type: ignore[attr-defined]
                    [
                        {"event_id": event_id, "consumer": self.group, "topic": topic, "processed_at": now}
                        for event_id, topic in applied
                    ],
                )
        per_topic: dict[str, int] = {}
        for _, topic in applied:
            per_topic[topic] = per_topic.get(topic, 0) + 1
        for topic, count in per_topic.items():
            EVENTS.labels(self.group, topic, "applied").inc(count)
        duplicates = len(batch.live) - len(applied)
        if duplicates:
            EVENTS.labels(self.group, batch.live[0][0].topic, "duplicate").inc(duplicates)

    async def _prefetch(self, session: AsyncSession, events: list[CloudEvent]) -> None:
        """Give each prefetching handler its topic's events of the poll, once."""
        session.info[_LOOKUPS] = {}
        by_topic: dict[str, list[CloudEvent]] = {}
        for event in events:
            by_topic.setdefault(event.type, []).append(event)
        for topic, of_topic in by_topic.items():
            handler = self.handlers[topic]
            if isinstance(handler, PrefetchingHandler):
                await handler.prefetch(session, of_topic)

    async def _apply_event(
        self,
        session: AsyncSession,
        record: ConsumerRecord[Any, Any],
        event: CloudEvent,
        failures: dict[str, tuple[int, BaseException]],
        dead: list[_Dead],
    ) -> bool:
        given_up = failures.get(event.id)
        if given_up is not None and self._hopeless(
            *given_up
        ):  # given up before a transient retry of the poll
            dead.append(_Dead(record, given_up[1], given_up[0]))
            return False
        while True:
            try:
                async with session.begin_nested():
                    with event_log_context(event):
                        await self.handlers[event.type](session, event)
                    session.add(InboxRecord(event_id=event.id, consumer=self.group, topic=event.type))
            except Exception as exc:
                if is_transient(exc):
                    raise
                attempts = failures.get(event.id, (0, exc))[0] + 1
                failures[event.id] = (attempts, exc)
                if self._hopeless(attempts, exc):
                    dead.append(_Dead(record, exc, attempts))
                    return False
                await asyncio.sleep(self.backoff_seconds * attempts)
                continue
            EVENTS.labels(self.group, record.topic, "applied").inc()
            return True

    def _hopeless(self, attempts: int, error: BaseException) -> bool:
        return isinstance(error, PERMANENT) or attempts >= self.max_attempts

    async def _already_applied(self, session: AsyncSession, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        rows = await session.exec(
            select(InboxRecord.event_id).where(  # type: ignore[call-overload]
                InboxRecord.consumer == self.group,
                InboxRecord.event_id.in_(event_ids),  # type: ignore[attr-defined]
            )
        )
        return {row[0] for row in rows}

    async def _dead_letter(self, dead: _Dead) -> None:
        """Park the record unchanged on ``dlq.<group>`` with why; the partition moves on."""
        assert self._broker is not None, "dead-lettering needs an attached broker"
        record, error = dead.record, dead.error
        stack = "".join(traceback.format_exception(error))
        headers = {key: value.decode(errors="replace") for key, value in (record.headers or ())}
        headers.update(
            {
                "x-error-type": type(error).__name__,
                "x-error-message": str(error)[:2000],
                "x-error-stack-digest": hashlib.sha256(stack.encode()).hexdigest()[:16],
                "x-original-topic": record.topic,
                "x-original-partition": str(record.partition),
                "x-original-offset": str(record.offset),
                "x-attempts": str(dead.attempts),
            }
        )
        await self._broker.publish(
            record.value or b"", dlq_topic(self.group), key=record.key, headers=headers
        )
        EVENTS.labels(self.group, record.topic, "dead_lettered").inc()
        log.error(
            "record dead-lettered",
            group=self.group,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error_type=type(error).__name__,
            error=str(error)[:500],
        )


async def _raw_body(msg: Any) -> Any:
    """Leave decoding to the consumer: a malformed record must reach the DLQ, not crash the subscriber."""
    return None
