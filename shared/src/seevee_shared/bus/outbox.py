"""Transactional outbox: events are rows written with the effect, and a relay publishes them.

Losing the relay loses nothing: unpublished rows stay until a relay (this one restarted, or another
replica) publishes them. The producer uses acks=all and idempotence, and rows go out in ``seq`` order,
so events for one key keep their order. Replicas sharing a store take turns (a PostgreSQL advisory lock,
or a file lock beside a SQLite file): two relays never send the same rows at once, nor out of order.
"""

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, BinaryIO

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.errors import is_transient
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CONTENT_TYPE, CloudEvent, encode
from seevee_shared.db import Database, is_sqlite, utcnow
from seevee_shared.logging import get_logger

log = get_logger(__name__)

PUBLISHED = Counter("seevee_outbox_published_total", "Events published by the outbox relay", ["topic"])


def outbox_add(session: AsyncSession, event: CloudEvent) -> None:
    """Queue an event in the caller's transaction: it is published only if the transaction commits."""
    session.add(OutboxRecord(event_id=event.id, topic=event.type, key=event.subject, payload=encode(event)))


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
    )


class OutboxRelay:
    """Publishes pending outbox rows in order and marks them sent; old sent rows are pruned."""

    def __init__(
        self,
        db: Database,
        producer: AIOKafkaProducer | None,
        *,
        batch_size: int = 1000,
        poll_seconds: float = 0.05,
        keep_sent: timedelta = timedelta(days=1),
    ) -> None:
        self.db = db
        self.producer = producer
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.keep_sent = keep_sent
        self._wake = asyncio.Event()
        self._turn = PublishingTurn(db)

    def close(self) -> None:
        """Release what the relay holds open between rounds (the turn's lock file)."""
        self._turn.close()

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
            except Exception as exc:
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
        """A round, on this relay's turn: read a batch, publish it, wait for every ack, mark it sent."""
        async with self._turn.take() as mine:
            return await self._publish_batch() if mine else 0

    async def _publish_batch(self) -> int:
        if self.producer is None:
            raise RuntimeError("the relay has no started producer yet")
        async with self.db.transaction() as session:
            rows = (
                await session.exec(
                    select(OutboxRecord.seq, OutboxRecord.topic, OutboxRecord.key, OutboxRecord.payload)  # type: ignore[call-overload]
                    .where(OutboxRecord.published_at.is_(None))  # type: ignore[union-attr]
                    .order_by(OutboxRecord.seq)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        headers = [("content-type", CONTENT_TYPE.encode())]
        futures = [
            await self.producer.send(topic, value=payload, key=key.encode(), headers=headers)
            for _, topic, key, payload in rows
        ]
        await asyncio.gather(*futures)
        async with self.db.transaction() as session:
            await session.exec(
                update(OutboxRecord)
                .where(OutboxRecord.seq.in_([row[0] for row in rows]))  # type: ignore[union-attr]
                .values(published_at=utcnow())
            )
        for _, topic, _, _ in rows:
            PUBLISHED.labels(topic).inc()
        return len(rows)

    async def prune(self) -> None:
        cutoff = utcnow() - self.keep_sent
        async with self.db.transaction() as session:
            await session.exec(
                delete(OutboxRecord).where(OutboxRecord.published_at < cutoff)  # type: ignore[arg-type,operator]
            )
