"""What tests of every service share: run an app with its lifespan, publish and read real records."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from fastapi import FastAPI

from seevee_shared.auth import issue_token
from seevee_shared.cloudevents import CONTENT_TYPE, CloudEvent, decode, encode

TEST_JWT_SECRET = "test-secret-for-the-suite-only-0123456789"


def token(workspace_id: str, roles: list[str] | None = None, secret: str = TEST_JWT_SECRET) -> str:
    """An ``Authorization`` header value for a caller of ``workspace_id``."""
    return f"Bearer {issue_token(secret, 'tester@seevee.test', workspace_id, roles or ['user'])}"


def unique_topic_suffix() -> str:
    return uuid.uuid4().hex[:8]


@asynccontextmanager
async def running_service(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (store, consumers, relay) running, and a client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            yield client


async def publish(bootstrap: str, events: list[CloudEvent]) -> None:
    """Publish CloudEvents as the other SeeVee teams do: structured JSON, key = subject."""
    await publish_raw(bootstrap, [(event.type, event.key, encode(event)) for event in events])


async def publish_raw(bootstrap: str, records: list[tuple[str, bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        headers = [("content-type", CONTENT_TYPE.encode())]
        for topic, key, value in records:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


@asynccontextmanager
async def topic_reader(bootstrap: str, *topics: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer positioned at the current end of ``topics``: it sees only what comes next."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await consumer.seek_to_end()
        for partition in consumer.assignment():
            await consumer.position(partition)
        yield consumer
    finally:
        await consumer.stop()


async def read_events(
    consumer: AIOKafkaConsumer,
    count: int,
    timeout: float = 30.0,
    where: Callable[[CloudEvent], bool] = lambda _event: True,
) -> list[CloudEvent]:
    """Read until ``count`` events that match ``where`` arrived (fewer after ``timeout``)."""
    found: list[CloudEvent] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found) < count and asyncio.get_running_loop().time() < deadline:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                try:
                    event = decode(record.value)
                except ValueError:
                    continue
                if where(event):
                    found.append(event)
    return found


async def read_records(consumer: AIOKafkaConsumer, count: int, timeout: float = 30.0) -> list[Any]:
    """Raw records (for dead-letter checks): value, key and headers as they are on the topic."""
    found: list[Any] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found) < count and asyncio.get_running_loop().time() < deadline:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            found.extend(records)
    return found


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 30.0, interval: float = 0.2
) -> None:
    """Poll ``check`` until it holds; not holding within ``timeout`` fails the test (it is no speed claim)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"condition {getattr(check, '__name__', check)} never held within {timeout}s"
            )
        await asyncio.sleep(interval)


async def consume(
    bootstrap: str,
    topic: str,
    count: int,
    timeout: float = 30.0,
    where: Callable[[CloudEvent], bool] = lambda _event: True,
) -> list[CloudEvent]:
    """Read ``topic`` from the beginning until ``count`` events match ``where`` (filter on your own ids)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        return await read_events(consumer, count, timeout, where)
    finally:
        await consumer.stop()


def polled(events: Sequence[CloudEvent]) -> list[ConsumerRecord[Any, Any]]:
    """The events as one poll of records, for applying them to an ``EventConsumer`` without a broker."""
    return [
        ConsumerRecord(
            topic=event.type,
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=event.key,
            value=encode(event),
            checksum=None,
            serialized_key_size=len(event.key),
            serialized_value_size=0,
            headers=[],
        )
        for offset, event in enumerate(events)
    ]
