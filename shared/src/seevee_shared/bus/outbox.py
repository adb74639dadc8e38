"""Transactional outbox: events are rows written with the effect, and a relay publishes them.

Losing the relay loses nothing: unpublished rows stay until a relay (this one restarted, or another
replica) publishes them. The producer uses acks=all and idempotence, and rows go out in ``seq`` order,
so events for one key keep their order. Replicas sharing a store take turns (a PostgreSQL advisory lock,
or a file lock beside a SQLite file): two relays never send the same rows at once, nor out of order.
Rows are marked as their acks arrive (``outbox_marks``), and a restarted relay first marks what its killed
predecessor had sent but not marked (``outbox_reconcile``), so a kill re-publishes little or nothing; a
row the broker can never take moves to ``outbox_dead_letter`` and the others flow.
"""

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter
from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url

from seevee_shared.bus.errors import is_transient, is_unsendable
from seevee_shared.bus.outbox_batches import MAX_REQUEST_SIZE, Batch, RecordBatches, Row
from seevee_shared.bus.outbox_marks import DeadRow, marks_for
from seevee_shared.bus.outbox_reconcile import Budget, ConsumerFactory, last_marked, reconcile
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.db import Database, is_sqlite, utcnow
from seevee_shared.logging import get_logger

log = get_logger(__name__)

PUBLISHED = Counter("seevee_outbox_published_total", "Events published by the outbox relay", ["topic"])
DEAD_LETTERED = Counter(
    "seevee_outbox_dead_lettered_total",
    "Outbox rows the broker can never take, moved to outbox_dead_letter",
    ["topic", "error_type"],
)


_ADVISORY_KEY = 0x5EE7EE0B


class PublishingTurn:
    """Lets one relay at a time publish a store's outbox: the others skip their round."""

    def __init__(self, db: Database) -> None:
        self.db = db
        database = make_url(db.url).database if is_sqlite(db.url) else None
        self._lock_path = f"{database}.outbox-lock" if database and database != ":memory:" else None
        self._lock_file: BinaryIO | None = None

    @contextlib.asynccontextmanager
    async def take(self) -> AsyncIterator[bool]:
        if not is_sqlite(self.db.url):
            async with self.db.engine.connect() as connection, connection.begin():
                taken = await connection.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY}
                )
                yield bool(taken)
            return
        if self._lock_path is None:
            yield True
            return
        if self._lock_file is None:  # opened once, kept for the relay's life
            self._lock_file = open(self._lock_path, "a+b")  # noqa: ASYNC230, SIM115
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def new_producer(bootstrap_servers: str, client_id: str, **security: Any) -> AIOKafkaProducer:
    """The relay's producer; ``security`` is ``kafka_security.client_options`` (TLS, SASL)."""
    return AIOKafkaProducer(
        **security,
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=MAX_REQUEST_SIZE,
    )


@dataclass
class _Turn:
    """What one turn's marker found: how many rows it settled, and why the turn must stop early."""

    done: int = 0
    stop: bool = False
    retry_later: BaseException | None = None
    blocked_keys: set[str] = field(default_factory=set)


class OutboxRelay:
    """Publishes pending outbox rows in order per key and marks them as the broker acknowledges them.

    A turn pipelines: while one batch is in flight the next is read and sent, and a marker records the
    acknowledged rows in small groups (``outbox_marks``). The producer (acks=all, idempotence) keeps each
    partition's order; after a failed send nothing later of the same key is marked, so the next turn
    sends them again behind it. A row the broker can never take is dead-lettered and the rest flow.
    """

    def __init__(
        self,
        db: Database,
        producer: AIOKafkaProducer | None,
        *,
        batch_size: int = 1000,
        poll_seconds: float = 0.05,
        keep_sent: timedelta = timedelta(days=1),
        batches_per_turn: int = 50,
        settle_every: int = 2000,
        reconcile_with: ConsumerFactory | None = None,
        reconcile_budget: Budget | None = None,
    ) -> None:
        self.db = db
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.keep_sent = keep_sent
        self.batches_per_turn = batches_per_turn
        self._wake = asyncio.Event()
        self._turn = PublishingTurn(db)
        self._marks = marks_for(db)
        self.settle_every = settle_every
        self._unsettled = 0
        self._settling: asyncio.Task[None] | None = None
        self._isolate: set[str] = set()
        """Rows whose request was refused for good along with others: next time each goes alone."""
        self._reconcile_with = reconcile_with
        """Until the first turn: reads the topics for rows a killed relay sent but never marked."""
        self.reconcile_budget = reconcile_budget or Budget()

    def close(self) -> None:
        """Release what the relay holds open between rounds (the turn's lock file, the journal)."""
        self._turn.close()
        self._marks.close()

    def wake(self) -> None:
        """Publish now rather than at the next poll (called after a transaction that queued events)."""
        self._wake.set()

    async def run(self) -> None:
        delay = self.poll_seconds
        idle_rounds = 0
        while True:
            try:
                published = await self.publish_pending()
                delay = self.poll_seconds
            except (Exception, asyncio.CancelledError) as exc:
                task = asyncio.current_task()
                if isinstance(exc, asyncio.CancelledError) and (task is None or task.cancelling()):
                    raise  # the service stopping; any other cancellation is a client's own, outlived
                if not is_transient(exc):
                    log.exception("outbox relay failed", error=repr(exc))
                delay = min(max(delay * 2, 0.5), 10.0)
                published = 0
            if published:
                continue
            idle_rounds += 1
            if idle_rounds % 1200 == 0:
                await self.prune()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def publish_pending(self) -> int:
        """A turn, when it is this relay's: publish what is pending; returns how many rows it settled."""
        async with self._turn.take() as mine:
            return await self._publish_turn() if mine else 0

    async def _publish_turn(self) -> int:
        producer = self.producer
        if producer is None:
            raise RuntimeError("the relay has no started producer yet")
        if self._reconcile_with is not None:
            await self._reconcile(producer, self._reconcile_with)
            self._reconcile_with = None
        await self._marks.settle()  # what a killed relay journaled is applied before the outbox is read
        turn = _Turn()
        in_flight: asyncio.Queue[Batch | None] = asyncio.Queue()
        marker = asyncio.create_task(self._mark_acknowledged(in_flight, turn))
        batches = RecordBatches(producer)
        reading = asyncio.create_task(self._read_after(0))
        try:
            for _ in range(self.batches_per_turn):
                rows = await reading
                if not rows or turn.stop or marker.done():
                    break
                # The next rows are read (in the driver's thread) while these are handed over.
                reading = asyncio.create_task(self._read_after(rows[-1][0]))
                batch = Batch(rows)
                await batches.add(batch, rows, self._isolate)
                in_flight.put_nowait(batch)
        finally:
            with contextlib.suppress(Exception):
                await reading
            await batches.ship_all()  # what is left in part-filled batches: nothing more is pending
            in_flight.put_nowait(None)
            await marker
            await self._settled()
        if turn.retry_later is not None:
            raise turn.retry_later
        return turn.done

    async def _reconcile(self, producer: AIOKafkaProducer, make_consumer: ConsumerFactory) -> None:
        """Mark the pending rows the topics already hold (``outbox_reconcile``). A failure only costs
        the repeats it would have spared (a principal that may not read its own topics, say): the
        relay logs it and publishes as before."""
        try:
            marked_before = await last_marked(self.db)
            await self._marks.settle()
            found = await reconcile(self.db, producer, make_consumer, marked_before, self.reconcile_budget)
            if found.event_ids:
                await self._marks.record(found.event_ids, [])
        except Exception as exc:
            log.warning("outbox reconcile skipped; pending rows are published again", error=repr(exc))

    async def _read_after(self, cursor: int) -> list[Row]:
        """The next pending rows in ``seq`` order, from a snapshot that never waits for a writer."""
        async with self.db.reading() as connection:
            result = await connection.execute(
                select(
                    OutboxRecord.seq,
                    OutboxRecord.event_id,
                    OutboxRecord.topic,
                    OutboxRecord.key,
                    OutboxRecord.payload,
                )  # type: ignore[call-overload]
                .where(OutboxRecord.published_at.is_(None), OutboxRecord.seq > cursor)  # type: ignore[union-attr,operator]
                .order_by(OutboxRecord.seq)
                .limit(self.batch_size)
            )
            return [tuple(row) for row in result]

    async def _mark_acknowledged(self, in_flight: "asyncio.Queue[Batch | None]", turn: _Turn) -> None:
        """Take each batch in ``seq`` order; record every run of acknowledged rows as soon as it is done."""
        while (batch := await in_flight.get()) is not None:
            acks, position = batch.acks, 0
            while position < len(acks):
                head = acks[position]
                if head is not None and not head.done():
                    await asyncio.wait([head])
                end = position + 1
                while end < len(acks) and ((ack := acks[end]) is None or ack.done()):
                    end += 1
                await self._record(batch, range(position, end), turn)
                position = end

    async def _record(self, batch: Batch, indexes: range, turn: _Turn) -> None:
        sent: list[str] = []
        per_topic: dict[str, int] = {}
        dead: list[tuple[Row, BaseException]] = []
        blocked = turn.blocked_keys
        for index in indexes:
            row, error = batch.rows[index], batch.error(index)
            if error is None:
                if not blocked or row[3] not in blocked:
                    sent.append(row[1])
                    per_topic[row[2]] = per_topic.get(row[2], 0) + 1
            elif is_unsendable(error) and index in batch.alone:
                dead.append((row, error))
            else:
                # Later rows of this key stay unmarked, so they go out again behind this one.
                blocked.add(row[3])
                turn.stop = True
                if is_unsendable(error):  # refused with others in its request: next time it goes alone
                    self._isolate.add(row[1])
                elif turn.retry_later is None:
                    turn.retry_later = error
                    log.warning("outbox send failed; retrying", topic=row[2], error=repr(error))
        await self._marks.record(
            sent, [DeadRow(row[1], type(error).__name__, str(error)[:2000]) for row, error in dead]
        )
        for topic, count in per_topic.items():
            PUBLISHED.labels(topic).inc(count)
        for row, error in dead:
            self._isolate.discard(row[1])
            DEAD_LETTERED.labels(row[2], type(error).__name__).inc()
            log.error(
                "outbox row dead-lettered",
                event_id=row[1],
                topic=row[2],
                seq=row[0],
                error_type=type(error).__name__,
                error=str(error)[:500],
            )
        turn.done += len(sent) + len(dead)
        self._unsettled += len(sent) + len(dead)
        if self._unsettled >= self.settle_every and (self._settling is None or self._settling.done()):
            self._unsettled = 0
            self._settling = asyncio.create_task(self._marks.settle())

    async def _settled(self) -> None:
        """Wait for a settle under way, then apply what is left: the turn ends with the outbox up to date."""
        settling, self._settling, self._unsettled = self._settling, None, 0
        if settling is not None:
            await settling
        await self._marks.settle()

    async def prune(self) -> None:
        cutoff = utcnow() - self.keep_sent
        async with self.db.transaction() as session:
            await session.exec(
                delete(OutboxRecord).where(OutboxRecord.published_at < cutoff)  # type: ignore[arg-type,operator]
            )
