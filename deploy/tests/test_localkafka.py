import os
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from seevee_deploy import processes
from seevee_deploy.localkafka import KafkaStartError, LocalKafka, create_topics, running_kafka
from seevee_shared.events import ALL_TOPICS

pytestmark = pytest.mark.kafka


async def _partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


async def test_every_pipeline_topic_exists_with_six_partitions(kafka_bootstrap: str) -> None:
    counts = await _partition_counts(kafka_bootstrap, list(ALL_TOPICS))

    assert counts == dict.fromkeys(ALL_TOPICS, 6)
    assert "dlq.task-service" in counts
    assert "message.bounced" in counts


async def test_creating_existing_topics_again_changes_nothing(kafka_bootstrap: str) -> None:
    topic = f"deploy.idempotent.{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic], partitions=6)

    await create_topics(kafka_bootstrap, [topic, "message.sent"], partitions=3)

    assert await _partition_counts(kafka_bootstrap, [topic, "message.sent"]) == {topic: 6, "message.sent": 6}


async def test_a_record_round_trips_through_the_broker(kafka_bootstrap: str) -> None:
    topic = f"deploy.roundtrip.{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b'{"contact_id": "c-1"}', key=b"c-1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=topic, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()

    assert (record.key, record.value) == (b"c-1", b'{"contact_id": "c-1"}')
    assert (record.partition, record.offset) == (sent.partition, sent.offset)


async def test_stop_leaves_no_broker_process_and_no_data_dir() -> None:
    kafka = LocalKafka()
    await kafka.start()
    pid, data_dir = kafka.pid, kafka.data_dir
    assert pid is not None and _alive(pid)

    await kafka.stop()

    assert not _alive(pid)
    assert not data_dir.exists()


async def test_a_broker_restarted_on_its_data_dir_keeps_its_topics(tmp_path: Path) -> None:
    topic = "deploy.kept"
    async with LocalKafka(tmp_path) as first:
        await create_topics(first.bootstrap_servers, [topic], partitions=2)

    async with LocalKafka(tmp_path) as second:
        assert await _partition_counts(second.bootstrap_servers, [topic]) == {topic: 2}


async def test_a_broker_that_cannot_listen_fails_start_and_leaves_no_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[subprocess.Popen[bytes]] = []

    def spawn_and_record(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        spawned.append(real_spawn(*args, **kwargs))
        return spawned[-1]

    real_spawn = processes.spawn
    monkeypatch.setattr(processes, "spawn", spawn_and_record)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        kafka = LocalKafka(tmp_path, port=taken.getsockname()[1], startup_timeout=90)

        with pytest.raises(KafkaStartError, match="exited"):
            await kafka.start()

    assert len(spawned) == 1
    assert not _alive(spawned[0].pid)
    assert kafka.pid is None


async def test_a_configured_cluster_is_used_and_nothing_is_started(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_spawn(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        raise AssertionError("nothing may be started when KAFKA_BOOTSTRAP_SERVERS is set")

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setattr(processes, "spawn", no_spawn)

    async with running_kafka() as bootstrap:
        assert bootstrap == kafka_bootstrap
