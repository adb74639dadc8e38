"""Figure 2: the outbox relay's events/s against a raw aiokafka producer with the same settings."""

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from bench import scenario
from bench.environment import BenchEnv
from bench.repetition import paired_medians
from bench.sizes import Sizes
from bench.stats import ratio
from bench.stores import SqliteStores, Stores
from seevee_shared.bus import OutboxRecord, OutboxRelay
from seevee_shared.bus.outbox import new_producer
from seevee_shared.cloudevents import CONTENT_TYPE, encode
from seevee_shared.db import Database

TOPIC = "bench.publish"
"""Its own topic: the records must not reach the services' subscriptions."""

Record = tuple[str, str, bytes]


def records(count: int) -> list[Record]:
    at = datetime.now(UTC)
    tag = scenario.unique_tag()
    events = [scenario.message_bounced(c, None, at) for c in scenario.contacts(tag, count)]
    return [(event.id, event.subject, encode(event)) for event in events]


async def filled_outbox(stores: Stores, name: str, rows: list[Record]) -> Database:
    """A fresh store whose outbox holds ``rows``, written before the clock starts."""
    db = Database(await stores.empty(name))
    async with db.engine.begin() as connection:
        await connection.run_sync(OutboxRecord.metadata.create_all, tables=[OutboxRecord.__table__])  # type: ignore[attr-defined]
    async with db.transaction() as session:
        await session.execute(
            insert(OutboxRecord.__table__),  # type: ignore[attr-defined]
            [{"event_id": eid, "topic": TOPIC, "key": key, "payload": payload} for eid, key, payload in rows],
        )
    return db


async def measure(env: BenchEnv, sizes: Sizes) -> dict[str, Any]:
    """The relay on a SQLite store."""
    return await measure_on(env, SqliteStores(env.folder("publish")), sizes)


async def measure_postgres(env: BenchEnv, sizes: Sizes) -> dict[str, Any]:
    """The relay on a PostgreSQL store (the anchor has no store: the same producer alone)."""
    figures = await measure_on(env, env.postgres_stores("publish"), sizes)
    return {f"{key}_postgres": value for key, value in figures.items()}


async def measure_on(env: BenchEnv, stores: Stores, sizes: Sizes) -> dict[str, Any]:
    # The same records for every trial: each relay trial has a fresh store, and Kafka takes repeats.
    rows = records(sizes.publish_events)

    async def relay_trial(number: int) -> float:
        db = await filled_outbox(stores, f"relay-{number}", rows)
        producer = new_producer(env.bootstrap, "bench-relay")
        await producer.start()
        try:
            relay = OutboxRelay(db, producer)
            started = time.perf_counter()
            published = 0
            while batch := await relay.publish_pending():
                published += batch
            elapsed = time.perf_counter() - started
        finally:
            await producer.stop()
            await db.dispose()
        return published / elapsed

    async def raw_trial(_number: int) -> float:
        producer = new_producer(env.bootstrap, "bench-raw-producer")
        await producer.start()
        headers = [("content-type", CONTENT_TYPE.encode())]
        try:
            started = time.perf_counter()
            futures = [
                await producer.send(TOPIC, value=payload, key=key.encode(), headers=headers)
                for _, key, payload in rows
            ]
            await asyncio.gather(*futures)
            elapsed = time.perf_counter() - started
        finally:
            await producer.stop()
        return len(rows) / elapsed

    relay, raw = await paired_medians(relay_trial, raw_trial, sizes.repetitions, sizes.warmups)
    return {
        "publish_samples": list(relay.samples),
        "raw_producer_samples": list(raw.samples),
        "publish_events_per_s": relay.median,
        "raw_producer_events_per_s": raw.median,
        "publish_ratio": ratio(relay.median, raw.median),
    }
