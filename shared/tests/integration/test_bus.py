"""The shared consumer and outbox against the real broker and a real SQLite file."""

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, SQLModel, func, select

from seevee_shared.bus import EventMeta, Handlers, on
from seevee_shared.bus.tables import InboxRecord, OutboxRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed, MessageSent, Topic, dlq_topic
from seevee_shared.kafka_admin import ensure_topics
from seevee_shared.service import ServiceRuntime, build_service
from seevee_shared.settings import ServiceSettings
from seevee_shared.store import Entity, Store
from seevee_shared.testing import (
    consume,
    eventually,
    publish,
    publish_raw,
    read_records,
    running_service,
    topic_reader,
    unique_topic_suffix,
)

pytestmark = pytest.mark.kafka


class ProbeEffect(SQLModel, table=True):
    __tablename__ = "probe_effects"
    id: int | None = Field(default=None, primary_key=True)
    message_id: str


@dataclass
class Effect:
    id: int | None
    message_id: str


class ProbeStore(Store):
    entities = (Entity(ProbeEffect, Effect),)


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
    """A service whose handler records each message.sent and republishes it as a reveal."""

    def __init__(self) -> None:
        self.transient_failures: dict[str, int] = {}
        self.always_fail: set[str] = set()

    async def on_sent(self, data: MessageSent, meta: EventMeta, store: ProbeStore) -> None:
        if self.transient_failures.get(data.message_id, 0) > 0:
            self.transient_failures[data.message_id] -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        if data.message_id in self.always_fail:
            raise RuntimeError("a bug in the handler")
        store.add(Effect(id=None, message_id=data.message_id))
        reveal = ContactRevealed(
            reveal_id=f"r-{data.message_id}",
            contact_id=data.contact_id,
            email=data.recipient,
            first_name="Jane",
            last_name="Doe",
            employer_domain="acme.com",
            credits=1,
            recommended=False,
            revealed_at=data.sent_at,
        )
        store.publish(
            CloudEvent.build(reveal, source="/seevee/probe", workspace_id="ws-1", subject=data.contact_id)
        )


@pytest.fixture
async def probe_app(tmp_path: Path, kafka_bootstrap: str) -> AsyncIterator[tuple[Any, Probe, str]]:
    group = f"probe-{unique_topic_suffix()}"
    await ensure_topics(kafka_bootstrap, [dlq_topic(group)])
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/probe.db",
        consumer_group=group,
        consumer_max_attempts=3,
        retry_backoff_seconds=0.05,
    )
    probe = Probe()
    registry = Handlers(store=ProbeStore, topics={Topic.MESSAGE_SENT: on(MessageSent, probe.on_sent)})
    app = build_service(name="probe", settings=settings, handlers=registry)
    async with app.state.db.engine.begin() as connection:
        await connection.run_sync(
            SQLModel.metadata.create_all,
            tables=[ProbeEffect.__table__, InboxRecord.__table__, OutboxRecord.__table__],  # type: ignore[attr-defined]
        )
    yield app, probe, group


async def effects(app: Any, message_id: str) -> int:
    async with app.state.db.transaction() as session:
        result = await session.exec(
            select(func.count()).select_from(ProbeEffect).where(ProbeEffect.message_id == message_id)
        )
        return int(result.one())


async def test_each_event_applies_once_and_its_outbox_event_is_published(
    probe_app: tuple[Any, Probe, str], kafka_bootstrap: str
) -> None:
    app, _, _ = probe_app
    event = sent(f"m-{unique_topic_suffix()}")
    async with running_service(app):
        await publish(kafka_bootstrap, [event, event])
        await eventually(lambda: _has(app, event, 1))
        reveals = await consume(
            kafka_bootstrap,
            Topic.CONTACT_REVEALED,
            1,
            where=lambda e: e.data.get("reveal_id") == f"r-{event.data['message_id']}",
        )
    assert len(reveals) == 1
    assert reveals[0].subject == event.subject
    assert await effects(app, event.data["message_id"]) == 1


async def _has(app: Any, event: CloudEvent, count: int) -> bool:
    return await effects(app, event.data["message_id"]) == count


async def test_malformed_and_failing_records_are_dead_lettered_and_the_partition_moves_on(
    probe_app: tuple[Any, Probe, str], kafka_bootstrap: str
) -> None:
    app, probe, group = probe_app
    key = f"c-poison-{unique_topic_suffix()}".encode()
    broken = sent(f"m-broken-{unique_topic_suffix()}")
    after = sent(f"m-after-{unique_topic_suffix()}")
    flaky = sent(f"m-flaky-{unique_topic_suffix()}")
    probe.always_fail.add(broken.data["message_id"])
    probe.transient_failures[flaky.data["message_id"]] = 3
    async with topic_reader(kafka_bootstrap, dlq_topic(group)) as dlq, running_service(app):
        await publish_raw(kafka_bootstrap, [(Topic.MESSAGE_SENT, key, b"{not json")])
        await publish(kafka_bootstrap, [broken, flaky, after])
        await eventually(lambda: _has(app, after, 1))
        await eventually(lambda: _has(app, flaky, 1))
        ours = {key, broken.key}
        dead: list[Any] = []
        while len(dead) < 2:  # the group reads message.sent from the start: skip other suites' poison
            batch = await read_records(dlq, 1, timeout=30)
            assert batch, "our records never reached the dead-letter topic"
            dead.extend(record for record in batch if record.key in ours)
    by_value = {record.value: dict((k, v.decode()) for k, v in record.headers) for record in dead}
    assert set(by_value) == {b"{not json", _value_of(broken)}
    poison = by_value[b"{not json"]
    assert poison["x-error-type"] == "InvalidEvent"
    assert poison["x-original-topic"] == Topic.MESSAGE_SENT
    assert {"x-error-message", "x-error-stack-digest", "x-original-partition", "x-original-offset"} <= set(
        poison
    )
    assert by_value[_value_of(broken)]["x-attempts"] == "3"
    assert await effects(app, broken.data["message_id"]) == 0


def _value_of(event: CloudEvent) -> bytes:
    from seevee_shared.cloudevents import encode

    return encode(event)


async def _limit_message_bytes(bootstrap: str, topic: str, limit: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(limit)})
        await admin.alter_configs([resource])
    finally:
        await admin.close()


async def _committed(bootstrap: str, group: str, partition: TopicPartition) -> int:
    """The group's committed offset on ``partition`` (-1 before any commit)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    found = offsets.get(partition)
    return found.offset if found is not None else -1


def _retries(group: str, stage: str) -> float:
    return (
        REGISTRY.get_sample_value("seevee_consumer_poll_retries_total", {"group": group, "stage": stage})
        or 0.0
    )


async def test_a_record_whose_dead_letter_fails_is_never_committed_past(
    probe_app: tuple[Any, Probe, str], kafka_bootstrap: str
) -> None:
    """The broker refuses the dead letter (too large for the DLQ topic): the consumer keeps trying,
    consumes nothing after it and commits no offset past it, until the dead letter goes through."""
    app, _, group = probe_app
    await _limit_message_bytes(kafka_bootstrap, dlq_topic(group), 1024)
    key = f"c-big-{unique_topic_suffix()}".encode()
    poison = b"not a cloudevent " + b"x" * 8000
    after = sent(f"m-after-big-{unique_topic_suffix()}")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        async with topic_reader(kafka_bootstrap, dlq_topic(group)) as dlq, running_service(app):
            sent_at = await producer.send_and_wait(Topic.MESSAGE_SENT, poison, key=key)
            partition = TopicPartition(Topic.MESSAGE_SENT, sent_at.partition)
            await eventually(lambda: _true(_retries(group, "dead-letter") >= 1))
            await producer.send_and_wait(Topic.MESSAGE_SENT, _value_of(after), key=key)

            async def retried_or_skipped() -> bool:
                skipped = await _committed(kafka_bootstrap, group, partition) > sent_at.offset
                return skipped or _retries(group, "dead-letter") >= 4

            await eventually(retried_or_skipped)
            assert await _committed(kafka_bootstrap, group, partition) <= sent_at.offset
            assert await effects(app, after.data["message_id"]) == 0

            await _limit_message_bytes(kafka_bootstrap, dlq_topic(group), 1_048_588)
            parked: list[Any] = []

            async def poison_parked() -> bool:
                parked.extend(await read_records(dlq, 1, timeout=1.0))
                return any(record.key == key for record in parked)

            await eventually(poison_parked)
            await eventually(lambda: _has(app, after, 1))
            await eventually(
                lambda: _later(_committed(kafka_bootstrap, group, partition), sent_at.offset), timeout=30
            )
    finally:
        await producer.stop()
    (dead,) = [record for record in parked if record.key == key]
    assert dead.value == poison
    assert dict(dead.headers)["x-original-offset"] == str(sent_at.offset).encode()


async def _true(value: bool) -> bool:
    return value


async def _later(committed: Awaitable[int], offset: int) -> bool:
    return await committed > offset


async def test_a_start_that_fails_stops_the_producer_it_started(
    tmp_path: Path, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store, the topics and the producer start side by side: when the store fails after the
    producer is connected, the producer is stopped too, not left running in a service that never ran."""
    settings = ServiceSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/probe.db",
        topic_create=False,
    )
    runtime = ServiceRuntime("probe", settings, None, tmp_path / "migrations", ())
    made: list[AIOKafkaProducer] = []

    async def migrate_fails_late() -> None:
        producer = runtime.producer
        assert producer is not None
        made.append(producer)

        async def connected() -> bool:
            return producer._sender.sender_task is not None  # set once start() has bootstrapped

        await eventually(connected, timeout=20, interval=0.05)
        raise OperationalError("migrate", {}, Exception("the database refused"))

    monkeypatch.setattr(runtime, "migrate", migrate_fails_late)
    with pytest.raises(OperationalError):
        await runtime.start()
    assert made and made[0]._closed is True
    assert runtime.producer is None
