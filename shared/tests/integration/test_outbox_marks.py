"""The relay's marks on PostgreSQL: they never wait for a pooled connection behind the service's
requests (a kill in that wait re-publishes every row acknowledged meanwhile)."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import SQLModel, col, select

from seevee_shared.bus.outbox_marks import StoreMarks, marks_for
from seevee_shared.bus.tables import OutboxDeadLetter, OutboxRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import ContactRevealed
from seevee_shared.store import SqlRows, Store

pytestmark = pytest.mark.postgres


def reveal(n: int) -> CloudEvent:
    data = ContactRevealed(
        reveal_id=f"r-marks-{n}",
        contact_id=f"c-{n}",
        email="jane@acme.com",
        first_name="Jane",
        last_name="Doe",
        employer_domain="acme.com",
        credits=1,
        recommended=False,
        revealed_at=datetime.now(UTC),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id="ws-1", subject=data.contact_id)


async def test_marks_go_through_while_every_pooled_connection_is_busy(postgres_url: str) -> None:
    db = Database(postgres_url, pool_size=1, max_overflow=0, pool_timeout=2)
    async with db.engine.begin() as connection:
        await connection.run_sync(
            SQLModel.metadata.create_all,
            tables=[OutboxRecord.__table__, OutboxDeadLetter.__table__],  # type: ignore[attr-defined]
        )
    events = [reveal(n) for n in range(1_200)]  # more than one IN list
    async with db.engine.begin() as connection:
        store = Store(SqlRows(connection))
        for event in events:
            store.publish(event)
        await store.write()
    marks = marks_for(db)
    assert isinstance(marks, StoreMarks), "a PostgreSQL store takes the marks itself"

    release = asyncio.Event()

    async def busy_request() -> None:  # holds the pool's only connection, as a burst of requests would
        async with db.transaction() as session:
            await session.exec(select(OutboxRecord.seq).limit(1))
            await release.wait()

    holder = asyncio.create_task(busy_request())
    await asyncio.sleep(0.2)
    try:
        await asyncio.wait_for(marks.record([event.id for event in events[:1_100]], []), timeout=30)
    finally:
        release.set()
        await holder
    async with db.transaction() as session:
        pending = (
            await session.exec(select(OutboxRecord.event_id).where(col(OutboxRecord.published_at).is_(None)))
        ).all()
    await db.dispose()
    assert sorted(pending) == sorted(event.id for event in events[1_100:])
