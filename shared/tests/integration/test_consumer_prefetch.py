"""A poll's prefetch: called once per topic on the straight path, never on the careful one.

The consumer is driven directly with polled records (no broker) against a real SQLite file.
"""

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.consumer import EventConsumer, PrefetchingHandler, poll_lookups
from seevee_shared.bus.tables import InboxRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import MessageSent, Topic
from seevee_shared.testing import polled


class PrefetchProbeEffect(SQLModel, table=True):
    __tablename__ = "prefetch_probe_effects"
    message_id: str = Field(primary_key=True)
    prefetched: bool


def sent(message_id: str) -> CloudEvent:
    data = MessageSent(
        message_id=message_id,
        thread_id="t-1",
        contact_id=f"c-{message_id}",
        recipient="jane@acme.com",
        sender_mailbox="sam@seevee.test",
        provider="sendgrid",
        smtp_message_id=f"<{message_id}@seevee.test>",
        sent_at=datetime.now(UTC),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id="ws-1", subject=data.contact_id)


class Probe:
    """Prefetches by recording the message ids; the handler notes whether it found its lookup."""

    def __init__(self) -> None:
        self.prefetched: list[list[str]] = []
        self.fail_straight: set[str] = set()

    async def prefetch(self, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        lookups = poll_lookups(session)
        assert lookups is not None
        self.prefetched.append([event.data["message_id"] for event in events])
        for event in events:
            lookups[("probe", event.data["message_id"])] = True

    async def handle(self, session: AsyncSession, event: CloudEvent) -> None:
        message_id = event.data["message_id"]
        lookups = poll_lookups(session)
        if lookups is not None and message_id in self.fail_straight:
            raise RuntimeError("fails on the straight path only")
        found = lookups is not None and lookups.get(("probe", message_id)) is True
        session.add(PrefetchProbeEffect(message_id=message_id, prefetched=found))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/prefetch.db")
    async with database.engine.begin() as connection:
        await connection.run_sync(
            SQLModel.metadata.create_all,
            tables=[PrefetchProbeEffect.__table__, InboxRecord.__table__],  # type: ignore[attr-defined]
        )
    yield database
    await database.dispose()


def consumer(db: Database, probe: Probe) -> EventConsumer:
    handler = PrefetchingHandler(probe.handle, probe.prefetch)
    return EventConsumer(group="prefetch-probe", db=db, handlers={Topic.MESSAGE_SENT: handler})


async def effects(db: Database) -> dict[str, bool]:
    async with db.transaction() as session:
        rows = await session.exec(select(PrefetchProbeEffect))
        return {row.message_id: row.prefetched for row in rows}


async def test_the_prefetch_sees_each_new_event_of_the_poll_once(db: Database) -> None:
    probe = Probe()
    first, second, third = sent("m-1"), sent("m-2"), sent("m-3")
    await consumer(db, probe).apply(polled([first]))
    await consumer(db, probe).apply(polled([first, second, second, third]))
    assert probe.prefetched == [["m-1"], ["m-2", "m-3"]]
    assert await effects(db) == {"m-1": True, "m-2": True, "m-3": True}


async def test_a_failing_poll_is_applied_again_event_by_event_without_lookups(db: Database) -> None:
    probe = Probe()
    probe.fail_straight.add("m-2")
    await consumer(db, probe).apply(polled([sent("m-1"), sent("m-2"), sent("m-3")]))
    assert probe.prefetched == [["m-1", "m-2", "m-3"]]
    assert await effects(db) == {"m-1": False, "m-2": False, "m-3": False}
