"""The outbox relay against the real broker: in order, once, also with two relays on one store."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel, col, func, select

from seevee_shared.bus import OutboxRelay, outbox_add
from seevee_shared.bus.outbox import new_producer
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import ContactRevealed, Topic
from seevee_shared.testing import consume, unique_topic_suffix

pytestmark = pytest.mark.kafka


def reveal(batch: str, n: int) -> CloudEvent:
    data = ContactRevealed(
        reveal_id=f"r-{batch}-{n}",
        contact_id=f"c-{batch}-{n % 7}",
        email="jane@acme.com",
        first_name="Jane",
        last_name="Doe",
        employer_domain="acme.com",
        credits=1,
        recommended=False,
        revealed_at=datetime.now(UTC),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id="ws-1", subject=data.contact_id)


async def test_two_relays_on_one_store_publish_each_row_once_and_in_order_per_key(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    batch = unique_topic_suffix()
    url = f"sqlite+aiosqlite:///{tmp_path}/outbox.db"
    writer = Database(url)
    async with writer.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all, tables=[OutboxRecord.__table__])  # type: ignore[attr-defined]
    async with writer.transaction() as session:
        for n in range(300):
            outbox_add(session, reveal(batch, n))

    relays = []
    for name in ("a", "b"):
        producer = new_producer(kafka_bootstrap, f"relay-{name}")
        await producer.start()
        relays.append(OutboxRelay(Database(url), producer, batch_size=50))

    async def drain(relay: OutboxRelay) -> None:
        for _ in range(200):
            await relay.publish_pending()
            await asyncio.sleep(0)

    try:
        await asyncio.gather(*(drain(relay) for relay in relays))
    finally:
        for relay in relays:
            await relay.producer.stop()
            await relay.db.dispose()
            relay.close()

    async with writer.transaction() as session:
        pending = (
            await session.exec(select(func.count()).where(col(OutboxRecord.published_at).is_(None)))
        ).one()
    await writer.dispose()
    assert pending == 0

    seen = await consume(
        kafka_bootstrap,
        Topic.CONTACT_REVEALED,
        301,
        timeout=15,
        where=lambda e: e.data["reveal_id"].startswith(f"r-{batch}-"),
    )
    ids = [event.data["reveal_id"] for event in seen]
    assert len(ids) == 300 and len(set(ids)) == 300, "each row exactly once"
    for contact in {event.subject for event in seen}:
        numbers = [
            int(event.data["reveal_id"].rsplit("-", 1)[1]) for event in seen if event.subject == contact
        ]
        assert numbers == sorted(numbers), f"events of {contact} out of order"
