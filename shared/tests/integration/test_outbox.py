"""The outbox relay against the real broker: in order, once, also with two relays on one store; a row
the broker can never take is dead-lettered; a killed relay's journaled marks are not sent again; on
PostgreSQL the marks do not queue for a pooled connection; a restarted relay does not send again what
its killed predecessor sent but never marked."""

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from sqlmodel import SQLModel, col, select

from seevee_shared.bus import OutboxRelay
from seevee_shared.bus.outbox import DEAD_LETTERED, new_producer
from seevee_shared.bus.outbox_batches import HEADERS
from seevee_shared.bus.outbox_marks import JournalMarks, StoreMarks, marks_for
from seevee_shared.bus.outbox_reconcile import RECONCILED, Budget
from seevee_shared.bus.tables import OutboxDeadLetter, OutboxRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import ContactRevealed, Topic
from seevee_shared.store import SqlRows, Store
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


async def publish(db: Database, events: Iterable[CloudEvent]) -> None:
    """Events written to the outbox in one transaction, as a service's store publishes them."""
    async with db.transaction() as session:
        store = Store(SqlRows(await session.connection()))
        for event in events:
            store.publish(event)
        await store.write()


async def reveals_of(bootstrap: str, batch: str, count: int, timeout: float) -> list[CloudEvent]:
    """What the topic holds of this batch's reveals (``count`` is where reading may stop)."""
    return await consume(
        bootstrap,
        Topic.CONTACT_REVEALED,
        count,
        timeout=timeout,
        where=lambda e: e.data["reveal_id"].startswith(f"r-{batch}-"),
    )


async def pending_ids(db: Database) -> list[str]:
    """The event ids still waiting in the outbox."""
    async with db.transaction() as session:
        found = await session.exec(
            select(OutboxRecord.event_id).where(col(OutboxRecord.published_at).is_(None))
        )
        return list(found.all())


async def test_two_relays_on_one_store_publish_each_row_once_and_in_order_per_key(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    batch = unique_topic_suffix()
    url = f"sqlite+aiosqlite:///{tmp_path}/outbox.db"
    writer = Database(url)
    async with writer.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all, tables=[OutboxRecord.__table__])  # type: ignore[attr-defined]
    await publish(writer, (reveal(batch, n) for n in range(300)))

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

    pending = len(await pending_ids(writer))
    await writer.dispose()
    assert pending == 0

    seen = await reveals_of(kafka_bootstrap, batch, 301, timeout=15)
    ids = [event.data["reveal_id"] for event in seen]
    assert len(ids) == 300 and len(set(ids)) == 300, "each row exactly once"
    for contact in {event.subject for event in seen}:
        numbers = [
            int(event.data["reveal_id"].rsplit("-", 1)[1]) for event in seen if event.subject == contact
        ]
        assert numbers == sorted(numbers), f"events of {contact} out of order"


async def _store(tmp_path: Path, url: str | None = None) -> Database:
    db = Database(url or f"sqlite+aiosqlite:///{tmp_path}/outbox.db")
    async with db.engine.begin() as connection:
        await connection.run_sync(
            SQLModel.metadata.create_all,
            tables=[OutboxRecord.__table__, OutboxDeadLetter.__table__],  # type: ignore[attr-defined]
        )
    return db


def _oversized(event: CloudEvent) -> CloudEvent:
    """The event with 1.2 MB in one field: more than the producer's 1 MiB ``max_request_size``."""
    return event.model_copy(update={"data": {**event.data, "employer_name": "x" * 1_200_000}})


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_row_the_broker_can_never_take_is_dead_lettered_and_the_rest_flow_in_order(
    tmp_path: Path, kafka_bootstrap: str, backend: str, request: pytest.FixtureRequest
) -> None:
    batch = unique_topic_suffix()
    db = await _store(tmp_path, request.getfixturevalue("postgres_url") if backend == "postgres" else None)
    before, big, after = reveal(batch, 0), _oversized(reveal(batch, 7)), reveal(batch, 14)  # one key
    other_workspace = reveal(batch, 1).model_copy(update={"workspaceid": "ws-b"})
    await publish(db, (before, big, other_workspace, after))

    producer = new_producer(kafka_bootstrap, "relay-dead-letter")
    await producer.start()
    relay = OutboxRelay(db, producer)
    dead_before = DEAD_LETTERED.labels(Topic.CONTACT_REVEALED, "MessageSizeTooLargeError")._value.get()
    try:
        for _ in range(3):
            await relay.publish_pending()
    finally:
        await producer.stop()
        relay.close()

    seen = await reveals_of(kafka_bootstrap, batch, 3, timeout=15)
    assert [event.id for event in seen if event.subject == before.subject] == [before.id, after.id]
    assert other_workspace.id in {event.id for event in seen}
    async with db.transaction() as session:
        dead = (await session.exec(select(OutboxDeadLetter))).all()
    left = await pending_ids(db)
    await db.dispose()
    assert [(row.event_id, row.error_type) for row in dead] == [(big.id, "MessageSizeTooLargeError")]
    assert "max_request_size" in dead[0].error and len(dead[0].payload) > 1_200_000
    assert left == [], "the dead row left the outbox and nothing else is pending"
    after_count = DEAD_LETTERED.labels(Topic.CONTACT_REVEALED, "MessageSizeTooLargeError")._value.get()
    assert after_count == dead_before + 1


async def test_marks_a_killed_relay_journaled_are_applied_before_the_next_turn_reads(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    batch = unique_topic_suffix()
    db = await _store(tmp_path)
    events = [reveal(batch, n) for n in range(4)]
    await publish(db, events)
    journal = marks_for(db)
    assert isinstance(journal, JournalMarks), "a SQLite file keeps its marks in a journal beside it"
    await journal.record([events[0].id, events[1].id], [])  # acknowledged, then the process died
    journal.close()

    producer = new_producer(kafka_bootstrap, "relay-journal")
    await producer.start()
    relay = OutboxRelay(db, producer)
    try:
        assert await relay.publish_pending() == 2
    finally:
        await producer.stop()
        relay.close()
    seen = await reveals_of(kafka_bootstrap, batch, 4, timeout=8)
    pending = len(await pending_ids(db))
    await db.dispose()
    assert sorted(event.id for event in seen) == sorted([events[2].id, events[3].id])
    assert pending == 0


@pytest.mark.postgres
async def test_marks_go_through_while_every_pooled_connection_is_busy(postgres_url: str) -> None:
    """On PostgreSQL the marks never wait for a pooled connection behind the service's requests (a kill
    in that wait re-publishes every row acknowledged meanwhile)."""
    db = Database(postgres_url, pool_size=1, max_overflow=0, pool_timeout=2)
    async with db.engine.begin() as connection:
        await connection.run_sync(
            SQLModel.metadata.create_all,
            tables=[OutboxRecord.__table__, OutboxDeadLetter.__table__],  # type: ignore[attr-defined]
        )
    events = [reveal("marks", n) for n in range(1_200)]  # more than one IN list
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
    pending = await pending_ids(db)
    await db.dispose()
    assert sorted(pending) == sorted(event.id for event in events[1_100:])


async def _drain(relay: OutboxRelay) -> None:
    while await relay.publish_pending():
        pass


def _reader(
    bootstrap: str, reader_class: type[AIOKafkaConsumer] = AIOKafkaConsumer, **options: Any
) -> Callable[[], AIOKafkaConsumer]:
    """The relay's reconcile reader: no group, nothing committed."""
    return lambda: reader_class(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **options
    )


class _NeverStops(AIOKafkaConsumer):  # type: ignore[misc]
    """A reader whose stop swallows cancellation and waits until released, as aiokafka's can on a
    connection to a broker killed under it."""

    released = asyncio.Event()

    async def stop(self) -> None:
        await super().stop()
        while not self.released.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await self.released.wait()


class _CancelsItsOwnStop(AIOKafkaConsumer):  # type: ignore[misc]
    """A reader whose stop ends in a cancellation of its own, as aiokafka's does when it awaits the
    fetch tasks it has just cancelled."""

    async def stop(self) -> None:
        await super().stop()
        raise asyncio.CancelledError


@pytest.mark.parametrize(
    ("backend", "budget", "repeated", "reader_class"),
    [
        ("sqlite", Budget(), 0, AIOKafkaConsumer),
        pytest.param("postgres", Budget(), 0, AIOKafkaConsumer, marks=pytest.mark.postgres),
        ("sqlite", Budget(records=0), 120, AIOKafkaConsumer),
        ("sqlite", Budget(close_seconds=1), 0, _NeverStops),
        ("sqlite", Budget(), 0, _CancelsItsOwnStop),
    ],
    ids=["sqlite", "postgres", "no-budget", "reader-never-stops", "reader-stop-cancels-itself"],
)
async def test_a_restarted_relay_marks_what_its_killed_predecessor_sent_instead_of_sending_it_again(
    tmp_path: Path,
    kafka_bootstrap: str,
    backend: str,
    budget: Budget,
    repeated: int,
    reader_class: type[AIOKafkaConsumer],
    request: pytest.FixtureRequest,
) -> None:
    """The first 120 of 200 rows reached the topic but were never marked (a kill -9 after the acks):
    the next relay finds them there and publishes only the other 80. With no budget to read the topic
    it publishes all 200 again: at least once stays the rule. A reader whose stop never ends, or ends
    in a cancellation of its own, costs neither what it found nor the relay's turn."""
    batch = unique_topic_suffix()
    db = await _store(tmp_path, request.getfixturevalue("postgres_url") if backend == "postgres" else None)
    await publish(db, (reveal(batch, n) for n in range(200)))
    async with db.transaction() as session:
        rows = (
            await session.exec(
                select(OutboxRecord.key, OutboxRecord.payload)
                .where(col(OutboxRecord.published_at).is_(None))
                .order_by(col(OutboxRecord.seq))
            )
        ).all()
    producer = new_producer(kafka_bootstrap, "relay-reconcile")
    await producer.start()
    try:
        killed = [
            await producer.send(Topic.CONTACT_REVEALED, key=key.encode(), value=payload, headers=HEADERS)
            for key, payload in rows[:120]
        ]
        await asyncio.gather(*killed)
        found_before = RECONCILED._value.get()
        _NeverStops.released.clear()
        relay = OutboxRelay(
            db, producer, reconcile_with=_reader(kafka_bootstrap, reader_class), reconcile_budget=budget
        )
        try:
            await asyncio.wait_for(_drain(relay), timeout=120)  # a hang guard, not a speed check
        finally:
            relay.close()
            _NeverStops.released.set()
    finally:
        await producer.stop()
    seen = await reveals_of(kafka_bootstrap, batch, 200 + repeated + 1, timeout=8)
    pending = len(await pending_ids(db))
    await db.dispose()
    ids = [event.id for event in seen]
    assert len(set(ids)) == 200 and pending == 0
    assert len(ids) - 200 == repeated
    assert RECONCILED._value.get() - found_before == 120 - repeated


async def test_a_broker_that_never_answers_the_look_up_only_costs_repeats(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The reconcile reader reaches a broker that accepts and then says nothing (killed mid-look-up):
    the look-up gives up within its overall budget and the relay publishes every pending row."""
    batch = unique_topic_suffix()
    db = await _store(tmp_path, None)
    await publish(db, (reveal(batch, n) for n in range(30)))
    held: list[asyncio.StreamWriter] = []

    async def accept_and_stay_silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(accept_and_stay_silent, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    producer = new_producer(kafka_bootstrap, "relay-silent-reconcile")
    await producer.start()
    found_before = RECONCILED._value.get()
    try:
        relay = OutboxRelay(
            db,
            producer,
            # only the overall budget can end its wait
            reconcile_with=_reader(f"127.0.0.1:{port}", request_timeout_ms=3_600_000),
            reconcile_budget=Budget(overall_seconds=1),
        )
        try:
            await asyncio.wait_for(_drain(relay), timeout=120)  # a hang guard, not a speed check
        finally:
            relay.close()
    finally:
        await producer.stop()
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
    seen = await reveals_of(kafka_bootstrap, batch, 30, timeout=8)
    pending = len(await pending_ids(db))
    await db.dispose()
    assert len({event.id for event in seen}) == 30 and pending == 0
    assert RECONCILED._value.get() == found_before
