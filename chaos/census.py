"""What the system holds once it is quiet, read only through public interfaces: every record on the
output and dead-letter topics, the five APIs' lists, and the outbox rows each store still has."""

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from chaos.plan import WORKSPACE
from chaos.stores import Stores
from sandbox.pipeline import Endpoints, Pipeline
from seevee_shared.cloudevents import InvalidEvent, decode
from seevee_shared.events import CONSUMER_GROUPS, Topic, dlq_topic

OUTPUT_TOPICS: tuple[str, ...] = tuple(
    t for t in Topic if t not in (Topic.MESSAGE_SENT, Topic.CONTACT_REVEALED)
)
"""Every topic a service publishes (the chaos run itself publishes the two inputs)."""
DEAD_LETTER_TOPICS = tuple(dlq_topic(group) for group in CONSUMER_GROUPS)


@dataclass(frozen=True)
class Published:
    topic: str
    event_id: str
    source: str
    timestamp_ms: int
    data: dict[str, Any]

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]


@dataclass
class Observed:
    published: list[Published] = field(default_factory=list)
    undecodable: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    api: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unpublished_outbox: dict[str, int] = field(default_factory=dict)
    outbox_dead_letters: dict[str, int] = field(default_factory=dict)


async def _partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """The partitions of the topics that exist (a dead-letter topic nobody wrote to may not)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        described = await admin.describe_topics(wanted) if wanted else []
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic.get("error_code") == 0
        for partition in topic["partitions"]
    ]


async def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[TopicPartition, int]:
    partitions = await _partitions(bootstrap, topics)
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def consumer_lag(bootstrap: str, groups: Sequence[str] = CONSUMER_GROUPS) -> dict[str, int]:
    """Records each group has not committed yet, over every partition of every topic it has committed on."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        committed = {group: await admin.list_consumer_group_offsets(group) for group in groups}
    finally:
        await admin.close()
    topics = sorted({tp.topic for offsets in committed.values() for tp in offsets})
    ends = await end_offsets(bootstrap, topics)
    lag: dict[str, int] = {}
    for group, offsets in committed.items():
        mine = {tp.topic for tp in offsets}
        positions = {tp: meta.offset for tp, meta in offsets.items()}
        lag[group] = sum(
            max(0, end - max(positions.get(tp, 0), 0)) for tp, end in ends.items() if tp.topic in mine
        )
    return lag


class CensusError(RuntimeError):
    """A topic could not be read to its end: the count would be wrong, so there is none."""


READ_TIMEOUT = 300.0


async def read_all(bootstrap: str, topics: Sequence[str]) -> list[tuple[str, bytes | None, int]]:
    """Every record now on ``topics``, from each partition's first offset to its end offset at the start."""
    partitions = await _partitions(bootstrap, topics)
    records: list[tuple[str, bytes | None, int]] = []
    if not partitions:
        return records
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        firsts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        waiting = {tp for tp in partitions if ends[tp] > firsts[tp]}
        for tp in partitions:
            consumer.seek(tp, firsts[tp])
        deadline = asyncio.get_running_loop().time() + READ_TIMEOUT
        while waiting:
            if asyncio.get_running_loop().time() > deadline:
                raise CensusError(
                    f"{len(waiting)} partitions not read to their end, e.g. {sorted(waiting)[:3]}"
                )
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, batch in batches.items():
                records.extend((r.topic, r.value, r.timestamp) for r in batch if r.offset < ends[tp])
                if batch and batch[-1].offset >= ends[tp] - 1:
                    waiting.discard(tp)
        expected = sum(ends[tp] - firsts[tp] for tp in partitions)
        if len(records) != expected:
            raise CensusError(f"read {len(records)} records where the offsets say {expected}")
    finally:
        await consumer.stop()
    return records
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        waiting = {tp for tp, end in ends.items() if end > 0}
        while waiting:
            batches = await consumer.getmany(*waiting, timeout_ms=1000, max_records=5000)
            for tp, batch in batches.items():
                records.extend((r.topic, r.value, r.timestamp) for r in batch if r.offset < ends[tp])
            for tp in list(waiting):
                if await consumer.position(tp) >= ends[tp]:
                    waiting.discard(tp)
    finally:
        await consumer.stop()
    return records


async def take(bootstrap: str, urls: dict[str, str], jwt_secret: str, stores: Stores) -> Observed:
    observed = Observed()
    for topic, value, timestamp in await read_all(bootstrap, OUTPUT_TOPICS):
        try:
            event = decode(value)
        except InvalidEvent:
            observed.undecodable[topic] = observed.undecodable.get(topic, 0) + 1
            continue
        observed.published.append(Published(topic, event.id, event.source, timestamp, dict(event.data)))
    for topic, _value, _timestamp in await read_all(bootstrap, DEAD_LETTER_TOPICS):
        observed.dead_letters[topic] = observed.dead_letters.get(topic, 0) + 1
    async with httpx.AsyncClient(timeout=60.0) as client:
        pipeline = Pipeline(Endpoints(urls, bootstrap, jwt_secret), WORKSPACE, client)
        lists = {
            "bounces": ("bounce-ingest", "/v1/bounces"),
            "runs": ("run-orchestrator", "/v1/runs"),
            "tasks": ("task-service", "/v1/tasks"),
            "threads": ("thread-service", "/v1/threads"),
            "refunds": ("refund-service", "/v1/refunds"),
        }
        found = await asyncio.gather(*(pipeline.items(service, path) for service, path in lists.values()))
        observed.api = dict(zip(lists, found, strict=True))
    observed.unpublished_outbox = await stores.unpublished_outbox()
    observed.outbox_dead_letters = await stores.outbox_dead_letters()
    return observed
