"""The compose system with three replicas of every consumer on PostgreSQL: 5,000 bounces, one replica
of each consumer SIGKILLed mid-stream, then every effect exactly once and the partitions shared by the
surviving replicas.

Runs in container mode only (``SEEVEE_TEST_MODE=containers``, the images from ``make images``): a
compose project of its own, on free loopback ports, removed with its volumes at the end.
"""

import asyncio
import dataclasses
import os
import random
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.group import MemberAssignment

from sandbox.bounce_payloads import BounceKind
from sandbox.credentials import load_or_create
from sandbox.sends import Send
from sandbox.webhooks import PlannedBounce, sendgrid_request
from seevee_deploy.broker_config import free_port
from seevee_deploy.compose import CONSUMERS, ComposeProject
from seevee_deploy.containers import container_mode
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed, MessageSent
from seevee_shared.testing import TEST_JWT_SECRET, eventually, publish, token

pytestmark = [
    pytest.mark.containers,
    pytest.mark.skipif(not container_mode(), reason="container mode only (SEEVEE_TEST_MODE=containers)"),
    pytest.mark.timeout(1500),
]

BOUNCES = int(os.environ.get("SCALING_TEST_BOUNCES", "5000"))
REPLICAS = 3
BATCH = 250
WORKSPACE = "ws-scale"
DATABASES = {
    "bounce-ingest": ("bounce_ingest", {"message.bounced": BOUNCES}),
    "run-orchestrator": ("run_orchestrator", {"run.paused": BOUNCES, "run.step_due": BOUNCES}),
    "task-service": ("task_service", {"task.created": BOUNCES}),
    "thread-service": ("thread_service", {"thread.message_labeled": BOUNCES}),
    "refund-service": ("refund_service", {"refund.eligibility_recorded": BOUNCES}),
}
GROUP_TOPICS = {
    "bounce-ingest": ["message.sent"],
    "run-orchestrator": ["message.sent", "message.bounced", "message.complained"],
    "task-service": ["message.bounced"],
    "thread-service": ["message.sent", "message.bounced", "message.complained"],
    "refund-service": ["contact.revealed", "message.bounced"],
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def system(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ComposeProject]:
    ports = ["INGEST_PORT", "ORCHESTRATOR_PORT", "TASKS_PORT", "THREADS_PORT", "REFUNDS_PORT"]
    environ = {
        **os.environ,
        **{name: str(free_port()) for name in [*ports, "KAFKA_HOST_PORT", "POSTGRES_HOST_PORT"]},
        "SEEVEE_JWT_SECRET": TEST_JWT_SECRET,
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "LOG_LEVEL": "WARNING",
    }
    project = ComposeProject(
        name=f"seevee-scale-{uuid.uuid4().hex[:8]}",
        var_dir=tmp_path_factory.mktemp("compose"),
        environ=environ,
    )
    try:
        started = asyncio.get_running_loop().time()
        await asyncio.to_thread(project.up, REPLICAS)
        await project.wait_ready(timeout=600)
        print(
            f"\nscaling test: compose up, {REPLICAS} replicas each, ready after "
            f"{asyncio.get_running_loop().time() - started:.0f}s",
            flush=True,
        )
        yield project
    finally:
        await asyncio.to_thread(project.down, volumes=True)


def _sends(count: int, now: datetime) -> list[Send]:
    return [
        Send(
            workspace_id=WORKSPACE,
            message_id=f"m-{n}",
            thread_id=f"t-{n}",
            contact_id=f"c-{n}",
            run_id="",
            run_step=1,
            recipient=f"gone{n}@left-{n % 97}.example",
            sender_mailbox="sam@seevee.test",
            provider="sendgrid",
            provider_message_id=f"sg-{n}",
            smtp_message_id=f"<m-{n}@seevee.test>",
            subject="Quick introduction",
            sent_at=now,
        )
        for n in range(count)
    ]


def _event(send: Send, data: Any) -> CloudEvent:
    return CloudEvent.build(data, source="/seevee/test", workspace_id=WORKSPACE, subject=send.contact_id)


def _reveal(send: Send, now: datetime) -> CloudEvent:
    return _event(
        send,
        ContactRevealed(
            reveal_id=f"r-{send.contact_id}",
            contact_id=send.contact_id,
            email=send.recipient,
            first_name="Ada",
            last_name="Lovelace",
            employer_domain=send.recipient.split("@")[1],
            credits=1,
            recommended=False,
            revealed_at=now,
        ),
    )


def _sent(send: Send) -> CloudEvent:
    return _event(
        send,
        MessageSent(
            message_id=send.message_id,
            thread_id=send.thread_id,
            contact_id=send.contact_id,
            run_id=send.run_id,
            run_step=1,
            recipient=send.recipient,
            sender_mailbox=send.sender_mailbox,
            provider="sendgrid",
            provider_message_id=send.provider_message_id,
            smtp_message_id=send.smtp_message_id,
            sent_at=send.sent_at,
        ),
    )


async def _create_runs(http: httpx.AsyncClient, url: str, sends: list[Send]) -> list[Send]:
    headers = {"Authorization": token(WORKSPACE)}
    limit = asyncio.Semaphore(16)

    async def create(send: Send) -> Send:
        body = {
            "contact_id": send.contact_id,
            "thread_id": send.thread_id,
            "recipient": send.recipient,
            "sender_mailbox": send.sender_mailbox,
            "steps": [{"delay_hours": 0}, {"delay_hours": 72}],
        }
        async with limit:
            answer = await http.post(f"{url}/v1/runs", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return dataclasses.replace(send, run_id=answer.json()["run_id"])

    return list(await asyncio.gather(*(create(send) for send in sends)))


async def assignments(bootstrap: str, group: str) -> dict[str, set[TopicPartition]]:
    """Each live member of ``group`` and the partitions the last rebalance gave it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([group])
        members = described.groups[0][5]
        result: dict[str, set[TopicPartition]] = {}
        for member_id, _client_id, _host, _metadata, raw_assignment in members:
            decoded = MemberAssignment.decode(raw_assignment)
            result[member_id] = {
                TopicPartition(topic, partition)
                for topic, partitions in decoded.assignment
                for partition in partitions
            }
        return result
    finally:
        await admin.close()


async def lag(bootstrap: str, group: str, topics: Iterable[str]) -> int:
    """Records on ``topics`` the group has not committed yet (a partition it never committed counts whole)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        described = await admin.describe_topics(list(topics))
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        ends = await consumer.end_offsets(partitions)
        return sum(end - max(committed[tp].offset, 0) if tp in committed else end for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def _all_items(http: httpx.AsyncClient, url: str, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": "500", **params, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(url, params=query, headers={"Authorization": token(WORKSPACE)})).json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def _connect(project: ComposeProject, database: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        host="127.0.0.1",
        port=project.port("POSTGRES_HOST_PORT"),
        user="seevee",
        password=project.env["POSTGRES_PASSWORD"],
        database=database,
    )


async def _outbox(project: ComposeProject, database: str) -> dict[str, tuple[int, int]]:
    """Per topic: outbox rows, and distinct event ids among them."""
    connection = await _connect(project, database)
    try:
        rows = await connection.fetch(
            "SELECT topic, count(*) AS n, count(DISTINCT event_id) AS d FROM outbox GROUP BY topic"
        )
        return {row["topic"]: (row["n"], row["d"]) for row in rows}
    finally:
        await connection.close()


async def _distinct_ids_on(bootstrap: str, topic: str, expected: int) -> tuple[int, int]:
    """Records on topic and distinct CloudEvent ids among them, read from the beginning."""
    import orjson

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    ids: list[str] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while len(set(ids)) < expected and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            ids += [orjson.loads(r.value)["id"] for records in batch.values() for r in records]
        for records in (await consumer.getmany(timeout_ms=2000)).values():
            ids += [orjson.loads(r.value)["id"] for r in records]
    finally:
        await consumer.stop()
    return len(ids), len(set(ids))


async def _dead_lettered(bootstrap: str) -> dict[str, int]:
    """Records on each ``dlq.<group>`` topic there is."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        topics = sorted(topic for topic in await consumer.topics() if topic.startswith("dlq."))
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in consumer.partitions_for_topic(topic) or ()
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        return {topic: sum(end for tp, end in ends.items() if tp.topic == topic) for topic in topics}
    finally:
        await consumer.stop()


async def _diagnosis(project: ComposeProject, counts: dict[str, int]) -> str:
    """What a stalled run looks like from outside: the effects found, each group's lag, each store's
    unpublished outbox rows, and the warnings the services logged."""
    lines = [f"effects found: {counts}"]
    for group, topics in GROUP_TOPICS.items():
        for topic in topics:
            lines.append(f"lag {group} on {topic}: {await lag(project.kafka_bootstrap, group, [topic])}")
    lines.append(f"dead-lettered records: {await _dead_lettered(project.kafka_bootstrap)}")
    for service, (database, _expected) in DATABASES.items():
        connection = await _connect(project, database)
        try:
            pending = await connection.fetch(
                "SELECT topic, count(*) AS n FROM outbox WHERE published_at IS NULL GROUP BY topic"
            )
            dead = await connection.fetchval("SELECT count(*) FROM outbox_dead_letter")
            holders = await connection.fetch(
                "SELECT a.pid, a.state, a.xact_start, a.client_addr FROM pg_locks l"
                " JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND a.datname = $1",
                database,
            )
        finally:
            await connection.close()
        lines.append(f"{service}: unpublished {dict(pending)}, outbox dead letters {dead}")
        lines += [f"  relay turn held: {dict(holder)}" for holder in holders]
    for service in [name for consumer in CONSUMERS for name in (consumer, f"{consumer}-replica")]:
        logs = await asyncio.to_thread(
            project.run, "--profile", "scale", "logs", "--no-color", "--tail=400", service, capture=True
        )
        worth = [line for line in logs.splitlines() if any(w in line.lower() for w in ("warn", "error"))]
        lines += worth[-30:]
    return "\n".join(lines)


def _kill(container_id: str) -> None:
    subprocess.run(["docker", "kill", "--signal", "KILL", container_id], check=True, capture_output=True)


async def test_three_replicas_of_every_consumer_lose_and_double_nothing_when_one_dies(
    system: ComposeProject,
) -> None:
    project, now = system, datetime.now(UTC)
    bootstrap, urls = project.kafka_bootstrap, project.urls
    credentials = load_or_create(project.var_dir)
    rng = random.Random(5000)
    async with httpx.AsyncClient(timeout=60.0) as http:
        sends = await _create_runs(http, urls["run-orchestrator"], _sends(BOUNCES, now))
        await publish(bootstrap, [_reveal(send, now) for send in sends] + [_sent(send) for send in sends])

        async def ingest_has_every_send() -> bool:
            return await lag(bootstrap, "bounce-ingest", ["message.sent"]) == 0

        await eventually(ingest_has_every_send, timeout=300, interval=2.0)

        killed: dict[str, str] = {}
        for start in range(0, len(sends), BATCH):
            if start >= len(sends) // 2 and not killed:  # mid-stream: half the bounces are in
                for service in CONSUMERS:
                    replica = project.containers(f"{service}-replica")[0]
                    await asyncio.to_thread(_kill, replica)
                    killed[service] = replica
            planned = [
                PlannedBounce(send, BounceKind.MAILBOX_UNKNOWN) for send in sends[start : start + BATCH]
            ]
            request = sendgrid_request(credentials, planned, [], now + timedelta(minutes=5), rng)
            answer = await http.post(
                f"{urls['bounce-ingest']}/v1/webhooks/sendgrid", content=request.body, headers=request.headers
            )
            assert answer.is_success, answer.text
        assert set(killed) == set(CONSUMERS)

        checks = {
            "paused runs": (urls["run-orchestrator"], "/v1/runs", {"status": "paused"}),
            "tasks": (urls["task-service"], "/v1/tasks", {}),
            "labelled threads": (urls["thread-service"], "/v1/threads", {"label": "bounced"}),
            "refund records": (urls["refund-service"], "/v1/refunds", {}),
        }
        found: dict[str, list[dict[str, Any]]] = {}

        async def every_effect_is_there() -> bool:
            for what, (url, path, params) in checks.items():
                found[what] = await _all_items(http, url + path, **params)
            return all(len(items) >= BOUNCES for items in found.values())

        try:
            await eventually(every_effect_is_there, timeout=900, interval=5.0)
        except AssertionError:
            print(await _diagnosis(project, {what: len(items) for what, items in found.items()}), flush=True)
            raise
        counts = {what: len(items) for what, items in found.items()}
        print(f"\nscaling test: {BOUNCES} bounces, effects {counts}", flush=True)
        assert counts == dict.fromkeys(checks, BOUNCES)
        assert all(run["bounce_count"] == 1 for run in found["paused runs"]), "a bounce counted twice"
        assert all(len(task["bounces"]) == 1 for task in found["tasks"]), "a bounce attached twice"
        assert len({r["reveal_id"] for r in found["refund records"]}) == BOUNCES, "two records for one reveal"

    for service, (database, expected) in DATABASES.items():
        outbox = await _outbox(project, database)
        print(f"scaling test: {service} outbox {outbox}", flush=True)
        for topic, count in expected.items():
            assert outbox.get(topic) == (count, count), f"{service}: {topic} outbox {outbox.get(topic)}"
        for topic, count in expected.items():
            records, distinct = await _distinct_ids_on(bootstrap, topic, count)
            print(f"scaling test: {topic}: {records} records, {distinct} distinct events", flush=True)
            assert distinct == count, f"{topic}: {distinct} distinct events on Kafka, {count} expected"

    for service, topics in GROUP_TOPICS.items():
        members = await assignments(bootstrap, service)
        taken = [tp for partitions in members.values() for tp in partitions]
        shares = sorted(map(len, members.values()))
        print(f"scaling test: {service}: {len(members)} surviving members holding {shares} partitions")
        assert len(members) == REPLICAS - 1, f"{service}: {len(members)} members after one of {REPLICAS} died"
        assert all(members.values()), f"{service}: a surviving replica holds no partition"
        assert len(taken) == len(set(taken)) == 6 * len(topics), f"{service}: partitions not shared whole"
