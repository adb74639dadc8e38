"""The consumer every service uses: decoding, inbox, retry, dead letters, offsets committed last.

One poll is applied in one transaction, then the offsets are committed: an effect is never committed
to Kafka before it is committed to the store, and the inbox rows written with it make a redelivery a
no-op. The poll goes straight through first (``seam.apply_poll``: one store, one bulk write); only if
that fails is it applied again, event by event, each in a savepoint with a store of its own (the
careful path): permanent failures are dead-lettered, others retried with backoff, none skipped. A
record that cannot be decoded is dead-lettered without holding back the others.

Nothing is committed past a failed record: ``consume`` returns only when every record of the poll is
in the store or on the dead-letter topic, retrying whatever fails on the way (the store, the broker
taking the dead letter), since an error left to FastStream would be swallowed and the next poll's
commit would skip the records.
"""

import asyncio
import functools
import hashlib
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import Counter
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.errors import PERMANENT, is_transient
from seevee_shared.bus.seam import Event, Handlers, applied_already, apply_poll
from seevee_shared.cloudevents import InvalidEvent
from seevee_shared.db import Database, is_sqlite
from seevee_shared.events import dlq_topic
from seevee_shared.logging import get_logger
from seevee_shared.store.rows import SqlRows

T = TypeVar("T")

log = get_logger(__name__)

EVENTS = Counter("seevee_consumer_events_total", "Records seen by consumers", ["group", "topic", "outcome"])
RETRIES = Counter(
    "seevee_consumer_poll_retries_total", "Polls tried again after a failure, by stage", ["group", "stage"]
)

DLQ_HEADERS = (
    "x-error-type",
    "x-error-message",
    "x-error-stack-digest",
    "x-original-topic",
    "x-original-partition",
    "x-original-offset",
    "x-attempts",
)


DeadLetterSink = Callable[..., Awaitable[Any]]
"""``(value, topic, key=, headers=)``: the broker's ``publish`` unless a test gives its own."""


_KEY_LOCK_CLASS = 0x5EE7
"""First half of the two-int advisory keys that hold a record key (a space apart from the relay's turn)."""

_HOLD_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(:lock_class, k)) FROM (SELECT k FROM unnest(CAST(:keys AS integer[]))"
    " AS k ORDER BY k) AS ordered"
)


def key_lock_ids(keys: Sequence[bytes | None]) -> list[int]:
    """The 32-bit advisory key of each distinct record key, ascending (every poll locks in one order, so
    two polls never wait on each other in a cycle; two keys sharing one only wait for each other)."""
    digests = {hashlib.blake2b(key, digest_size=4).digest() for key in keys if key}
    return sorted(int.from_bytes(digest, "big", signed=True) for digest in digests)


async def hold_keys(db: Database, session: AsyncSession, keys: Sequence[bytes | None]) -> None:
    """On PostgreSQL, hold each record key of the poll until the transaction ends.

    Events about one contact arrive on several topics, which two replicas may hold at once (a rebalance
    hands a partition on while its old owner still applies a poll, and topics need not be assigned
    alike). Each handler reads what the other topic left, then writes: under READ COMMITTED two such
    transactions would each miss the other (a bounce kept waiting for a reveal that was committed
    beside it). Holding the key makes the second wait and then read the first's rows. SQLite's
    BEGIN IMMEDIATE already runs one writer at a time."""
    ids = key_lock_ids(keys)
    if ids and not is_sqlite(db.url):
        connection = await session.connection()
        await connection.execute(_HOLD_KEYS, {"lock_class": _KEY_LOCK_CLASS, "keys": ids})


@dataclass
class _Dead:
    record: ConsumerRecord[Any, Any]
    error: BaseException
    attempts: int


@dataclass
class _Live:
    record: ConsumerRecord[Any, Any]
    event: Event[Any]


class EventConsumer:
    """Applies records of the registry's topics to one service's store through its handlers."""

    def __init__(
        self,
        *,
        group: str,
        db: Database,
        handlers: Handlers[Any],
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 10.0,
        after_commit: Callable[[], None] | None = None,
        dead_letters: DeadLetterSink | None = None,
    ) -> None:
        self.group = group
        self.db = db
        self.handlers = handlers
        self.topics = list(handlers.topics)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.after_commit = after_commit
        self.dead_letters = dead_letters
        self.careful_polls = 0
        """Polls that took the careful path (tests check that a poll needed none)."""

    def attach(self, broker: KafkaBroker, *, max_records: int = 500, instance_id: str | None = None) -> None:
        """Subscribe to every handled topic as one batch subscriber of the service's group
        (a static member of it when ``instance_id`` names this replica)."""
        if self.dead_letters is None:
            self.dead_letters = broker.publish

        async def on_batch(body: Any, msg: KafkaMessage) -> None:
            records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
            await self.apply(records)
            try:
                await msg.ack()
            except Exception as exc:  # a rebalance took the partitions: the inbox absorbs the redelivery
                log.warning("offset commit failed", group=self.group, error=repr(exc))

        broker.subscriber(
            *self.topics,
            group_id=self.group,
            group_instance_id=instance_id,
            batch=True,
            max_records=max_records,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_body,
        )(on_batch)

    async def apply(self, records: Sequence[ConsumerRecord[Any, Any]], *, careful: bool = False) -> None:
        """Apply a poll's records; returns only when each is in the store or dead-lettered.

        ``careful`` takes the event-by-event path from the start (what a failure leads to).
        Any failure is retried, with backoff, on the same records: never raised to the caller,
        whose next step is committing the poll's offsets.
        """
        live, dead = self._decode(records)
        dead.extend(await self._until_done("store", lambda: self._apply_live(live, careful)))
        if self.after_commit is not None:
            self.after_commit()
        if dead and self.dead_letters is None:
            raise RuntimeError("dead-lettering needs an attached broker or a dead-letter sink")
        while dead:
            await self._until_done("dead-letter", functools.partial(self._dead_letter, dead[0]))
            dead.pop(0)

    async def _until_done(self, stage: str, step: Callable[[], Awaitable[T]]) -> T:
        """Run ``step`` until it succeeds, pausing longer after each failure (logged and counted)."""
        delay = self.backoff_seconds
        while True:
            try:
                return await step()
            except Exception as exc:
                RETRIES.labels(self.group, stage).inc()
                log.error(
                    "poll failed, retrying the same records",
                    group=self.group,
                    stage=stage,
                    error=repr(exc),
                    delay=delay,
                    exc_info=not is_transient(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_seconds)

    def _decode(self, records: Sequence[ConsumerRecord[Any, Any]]) -> tuple[list[_Live], list[_Dead]]:
        live: list[_Live] = []
        dead: list[_Dead] = []
        for record in records:
            try:
                event = self.handlers.decode(
                    record.value, record.topic, record.partition, record.offset, record.key
                )
            except InvalidEvent as exc:
                dead.append(_Dead(record, exc, 1))
                continue
            live.append(_Live(record, event))
        return live, dead

    async def _apply_live(self, live: list[_Live], careful: bool) -> list[_Dead]:
        """Transient failures retry the same poll after a pause, keeping count of each event's tries."""
        failures: dict[str, tuple[int, BaseException]] = {}
        delay = self.backoff_seconds
        while True:
            try:
                return await self._apply_once(live, failures, careful)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("transient failure, retrying", group=self.group, error=repr(exc), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_seconds)

    async def _apply_once(
        self, live: list[_Live], failures: dict[str, tuple[int, BaseException]], careful: bool
    ) -> list[_Dead]:
        if not failures and not careful:
            try:
                await self._apply_straight(live)
                return []
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.warning("an event of the poll failed; applying one by one", error=repr(exc))
        self.careful_polls += 1
        dead: list[_Dead] = []
        await self._prepare([item.event for item in live])
        async with self.db.transaction() as session:
            await hold_keys(self.db, session, [item.record.key for item in live])
            rows = SqlRows(await session.connection())
            done = await applied_already(rows, self.group, [item.event.meta.id for item in live])
            for item in live:
                if item.event.meta.id in done:
                    EVENTS.labels(self.group, item.record.topic, "duplicate").inc()
                    continue
                if await self._apply_event(session, item, failures, dead):
                    done.add(item.event.meta.id)
        return dead

    async def _apply_straight(self, live: list[_Live]) -> None:
        """The common case: the whole poll through one store, in one transaction."""
        events = [item.event for item in live]
        await self._prepare(events)
        async with self.db.transaction() as session:
            await hold_keys(self.db, session, [item.record.key for item in live])
            rows = SqlRows(await session.connection())
            applied = await apply_poll(self.handlers, rows, self.group, events)
        _count(self.group, "applied", [event.meta.topic for event in applied])
        ids = {id(event) for event in applied}
        _count(self.group, "duplicate", [item.record.topic for item in live if id(item.event) not in ids])

    async def _prepare(self, events: list[Event[Any]]) -> None:
        """The registry's ``prepare``, outside any transaction."""
        if self.handlers.prepare is not None and events:
            await self.handlers.prepare(events)

    async def _apply_event(
        self,
        session: AsyncSession,
        item: _Live,
        failures: dict[str, tuple[int, BaseException]],
        dead: list[_Dead],
    ) -> bool:
        event = item.event
        given_up = failures.get(event.meta.id)
        if given_up is not None and self._hopeless(*given_up):  # given up before a transient retry
            dead.append(_Dead(item.record, given_up[1], given_up[0]))
            return False
        while True:
            try:
                async with session.begin_nested():
                    rows = SqlRows(await session.connection())
                    await apply_poll(self.handlers, rows, self.group, [event])
            except Exception as exc:
                if is_transient(exc):
                    raise
                attempts = failures.get(event.meta.id, (0, exc))[0] + 1
                failures[event.meta.id] = (attempts, exc)
                if self._hopeless(attempts, exc):
                    dead.append(_Dead(item.record, exc, attempts))
                    return False
                await asyncio.sleep(self.backoff_seconds * attempts)
                continue
            EVENTS.labels(self.group, item.record.topic, "applied").inc()
            return True

    def _hopeless(self, attempts: int, error: BaseException) -> bool:
        return isinstance(error, PERMANENT) or attempts >= self.max_attempts

    async def _dead_letter(self, dead: _Dead) -> None:
        """Park the record unchanged on ``dlq.<group>`` with why; the partition moves on."""
        if self.dead_letters is None:
            raise RuntimeError("dead-lettering needs an attached broker or a dead-letter sink")
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
        await self.dead_letters(record.value or b"", dlq_topic(self.group), key=record.key, headers=headers)
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


def _count(group: str, outcome: str, topics: list[str]) -> None:
    per_topic: dict[str, int] = {}
    for topic in topics:
        per_topic[topic] = per_topic.get(topic, 0) + 1
    for topic, count in per_topic.items():
        EVENTS.labels(group, topic, outcome).inc(count)


async def _raw_body(msg: Any) -> Any:
    """Leave decoding to the consumer: a malformed record must reach the DLQ, not crash the subscriber."""
    return None
