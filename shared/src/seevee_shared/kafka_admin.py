"""Topic creation at start: idempotent, so every service (and the launcher) can ensure the topics."""

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from seevee_shared.events import ALL_TOPICS


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str] = ALL_TOPICS,
    partitions: int = 6,
    *,
    wait_seconds: float = 60.0,
) -> None:
    """Create the topics that are missing; waits for the broker to answer up to ``wait_seconds``."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in topics if name not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in missing]
                    )
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)
        finally:
            await admin.close()
