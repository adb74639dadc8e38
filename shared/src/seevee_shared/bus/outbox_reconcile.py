"""Before a relay's first turn, the rows a killed predecessor had sent but not yet marked are looked up
on their topics and marked, so they are not published a second time.

Marks follow the broker's acks in small groups, but a producer keeps whole record batches in flight
(hundreds of rows per partition): a kill -9 between the ack and the mark leaves those rows pending
although the topic holds them. Our consumers dedupe by event id; the other teams' subscribers would see
every one twice. So the new relay reads the tail of each partition its pending rows go to, from just
before the earliest moment any of them can have been sent, and marks each row whose exact record (same
key, same payload bytes, which carry the event id) is there. Reading is bounded in records and seconds:
over budget it stops, and what it has not found is published again, as before (at least once stays the
rule; this only removes the repeats it can prove).
"""

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import Counter
from sqlalchemy import func, select

from seevee_shared.bus.outbox_batches import partition_for
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.db import Database
from seevee_shared.logging import get_logger

log = get_logger(__name__)

RECONCILED = Counter(
    "seevee_outbox_reconciled_total",
    "Pending outbox rows found already on their topic after a restart, marked instead of re-sent",
)

ConsumerFactory = Callable[[], AIOKafkaConsumer]
"""Makes an unstarted consumer with no group (the service's bootstrap servers and security)."""

T = TypeVar("T")

CLOCK_SKEW = timedelta(minutes=2)
"""How much earlier than the store's clocks a record's timestamp may be: hosts' clocks differ, and a
row may wait in the producer for its batch's ack (bounded by the request timeout) before it is marked."""


@dataclass(frozen=True)
class Budget:
    """How much of the topics a relay reads before its first turn, at most."""

    rows: int = 20_000
    """Pending rows looked up (the oldest; a killed relay sent from the head of the outbox)."""
    records: int = 200_000
    seconds: float = 10.0
    overall_seconds: float = 30.0
    """The whole look-up, connecting and asking for offsets included: a broker that stops answering
    mid-way (killed while a restarted relay looks) costs the repeats, never the relay's first turn."""
    close_seconds: float = 5.0
    """Stopping the reader; past it the reader is left to finish on its own (``_within``)."""


@dataclass(frozen=True)
class Found:
    event_ids: list[str]
    pending: int
    records_read: int
    complete: bool
    """False when the budget ran out before the end of some partition."""


async def sent_before(
    db: Database,
    producer: AIOKafkaProducer,
    make_consumer: ConsumerFactory,
    last_marked: datetime | None,
    budget: Budget,
) -> Found:
    """The pending rows (the oldest ``budget.rows``) whose records are already on their partitions.

    ``last_marked`` is the latest ``published_at`` of the store before the killed relay's journal
    was applied: an unmarked row it sent went out after that, less the in-flight time.
    """
    async with db.reading() as connection:
        result = await connection.execute(
            select(
                OutboxRecord.event_id,
                OutboxRecord.topic,
                OutboxRecord.key,
                OutboxRecord.payload,
                OutboxRecord.created_at,
            )  # type: ignore[call-overload]
            .where(OutboxRecord.published_at.is_(None))  # type: ignore[union-attr]
            .order_by(OutboxRecord.seq)
            .limit(budget.rows)
        )
        rows = list(result)
    if not rows:
        return Found([], 0, 0, True)
    earliest = min(row[4] for row in rows)
    if last_marked is not None:
        earliest = max(earliest, last_marked)
    since_ms = int((earliest - CLOCK_SKEW).timestamp() * 1000)

    wanted: dict[TopicPartition, dict[tuple[bytes, bytes], str]] = {}
    partitions: dict[str, list[int]] = {}
    for event_id, topic, key, payload, _ in rows:
        key_bytes = key.encode()
        if topic not in partitions:
            partitions[topic] = sorted(await producer.partitions_for(topic))
        place = TopicPartition(topic, partition_for(key_bytes, partitions[topic]))
        wanted.setdefault(place, {})[(key_bytes, bytes(payload))] = event_id

    consumer = make_consumer()
    try:
        await consumer.start()
        found, read, complete = await _scan(consumer, wanted, since_ms, budget)
    finally:
        try:
            await _within(consumer.stop(), budget.close_seconds, "stopping the outbox reader")
        except Exception as exc:  # what was found stays found; the reader is left to the collector
            log.warning("outbox reader did not stop cleanly", error=repr(exc))
    return Found(found, len(rows), read, complete)


class KafkaClientCancelled(Exception):
    """The Kafka client ended work in a cancellation nobody asked for (see ``_within``)."""


async def _within(work: Coroutine[Any, Any, T], seconds: float, what: str) -> T:
    """``work``'s result if it is done within ``seconds``, else TimeoutError at once.

    aiokafka's consumer stop, on a broker killed under it, awaits fetch tasks it has just cancelled
    and so ends in a ``CancelledError`` of its own, or may wait without end: a stray cancellation
    would end the relay's task silently, and ``asyncio.wait_for`` waits for the cancelled work to
    finish. Here the work's own cancellation becomes an ordinary error, and past ``seconds`` the work
    is cancelled and left behind.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:  # the caller's own cancellation: the work goes with it
        _abandon(task)
        raise
    if task not in done:
        _abandon(task)
        raise TimeoutError(f"{what}: no answer within {seconds}s")
    if task.cancelled():
        raise KafkaClientCancelled(f"{what}: the Kafka client cancelled its own work")
    return task.result()


def _abandon(task: "asyncio.Future[Any]") -> None:
    task.cancel()
    task.add_done_callback(_forget)


def _forget(task: "asyncio.Future[Any]") -> None:
    """Retrieve an abandoned look-up's outcome, so it is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()


async def _scan(
    consumer: AIOKafkaConsumer,
    wanted: dict[TopicPartition, dict[tuple[bytes, bytes], str]],
    since_ms: int,
    budget: Budget,
) -> tuple[list[str], int, bool]:
    places = list(wanted)
    consumer.assign(places)
    starts = await consumer.offsets_for_times(dict.fromkeys(places, since_ms))
    ends = await consumer.end_offsets(places)
    reading: dict[TopicPartition, int] = {}
    for place in places:
        start = starts.get(place)
        if start is not None and start.offset < ends[place]:
            consumer.seek(place, start.offset)
            reading[place] = ends[place]
    consumer.pause(*(place for place in places if place not in reading))

    found: list[str] = []
    read = 0
    deadline = time.monotonic() + budget.seconds
    while reading and read < budget.records and time.monotonic() < deadline:
        polled = await consumer.getmany(*reading, timeout_ms=200, max_records=5000)
        for place, records in polled.items():
            expected = wanted[place]
            end = reading.get(place)
            for record in records:
                if end is None or record.offset >= end:
                    break
                read += 1
                if record.key is not None and record.value is not None:
                    event_id = expected.pop((record.key, record.value), None)
                    if event_id is not None:
                        found.append(event_id)
        for place in list(reading):
            if not wanted[place] or await consumer.position(place) >= reading[place]:
                del reading[place]
                consumer.pause(place)
    return found, read, not reading


async def reconcile(
    db: Database,
    producer: AIOKafkaProducer,
    make_consumer: ConsumerFactory,
    last_marked: datetime | None,
    budget: Budget | None = None,
) -> Found:
    """``sent_before``, counted and logged (marking what it found is the relay's, through its marks)."""
    started = time.monotonic()
    budget = budget or Budget()
    found = await _within(
        sent_before(db, producer, make_consumer, last_marked, budget),
        budget.overall_seconds,
        "looking up the topics",
    )
    if found.pending:
        RECONCILED.inc(len(found.event_ids))
        log.info(
            "outbox reconciled with its topics",
            pending=found.pending,
            already_sent=len(found.event_ids),
            records_read=found.records_read,
            complete=found.complete,
            seconds=round(time.monotonic() - started, 3),
        )
    return found


async def last_marked(db: Database) -> datetime | None:
    """The store's latest ``published_at`` (the pending index leads with it: one index lookup)."""
    async with db.reading() as connection:
        value: datetime | None = await connection.scalar(select(func.max(OutboxRecord.published_at)))
    return value
