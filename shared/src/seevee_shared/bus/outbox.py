"""Transactional outbox: events are rows written with the effect, and a relay publishes them.

Losing the relay loses nothing: unpublished rows stay until a relay (this one restarted, or another
replica) publishes them. The producer uses acks=all and idempotence, and rows go out in ``seq`` order,
so events for one key keep their order.
"""

import asyncio
import contextlib
from datetime import timedelta

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter
from sqlalchemy import delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.errors import is_transient
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CONTENT_TYPE, CloudEvent, encode
from seevee_shared.db import Database, utcnow
from seevee_shared.logging import get_logger

log = get_logger(__name__)

PUBLISHED = Counter("seevee_outbox_published_total", "Events published by the outbox relay", ["topic"])


def outbox_add(session: AsyncSession, event: CloudEvent) -> None:
    """Queue an event in the caller's transaction: it is published only if the transaction commits."""
    session.add(OutboxRecord(event_id=event.id, topic=event.type, key=event.subject, payload=encode(event)))


def new_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
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
        producer: AIOKafkaProducer,
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
        """One round: read a batch, publish it all, wait for every ack, then mark the rows sent."""
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
