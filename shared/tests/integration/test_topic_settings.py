"""Topic creation against the real broker: retention per kind of topic, existing topics left alone."""

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from seevee_shared.kafka_admin import TopicCreationError, ensure_topics
from seevee_shared.testing import unique_topic_suffix

pytestmark = pytest.mark.kafka


async def _retention(bootstrap: str, topic: str) -> str:
    """The topic's ``retention.ms``, once the new topic's metadata has reached the broker asked."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(100):
            [answer] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            error_code, *_, entries = answer.resources[0]
            if error_code == 0:
                return str({entry[0]: entry[1] for entry in entries}["retention.ms"])
            await asyncio.sleep(0.1)
        raise AssertionError(f"{topic} never became describable")
    finally:
        await admin.close()


async def test_events_and_dead_letters_get_their_own_retention(kafka_bootstrap: str) -> None:
    suffix = unique_topic_suffix()
    events, dead = f"retained.{suffix}", f"dlq.retained-{suffix}"
    await ensure_topics(
        kafka_bootstrap, [events, dead], partitions=2, retention_ms=3600000, dlq_retention_ms=7200000
    )
    assert await _retention(kafka_bootstrap, events) == "3600000"
    assert await _retention(kafka_bootstrap, dead) == "7200000"
    # A second service asking for other values leaves the existing topics as they are.
    await ensure_topics(kafka_bootstrap, [events], partitions=2, retention_ms=60000)
    assert await _retention(kafka_bootstrap, events) == "3600000"


async def test_a_replication_factor_the_cluster_cannot_meet_fails_loudly(kafka_bootstrap: str) -> None:
    with pytest.raises(TopicCreationError, match="replication factor of 3"):
        await ensure_topics(kafka_bootstrap, [f"replicated.{unique_topic_suffix()}"], replication_factor=3)
