"""Topic creation at start: idempotent, so every service (and the launcher) can ensure the topics."""

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from seevee_shared.events import ALL_TOPICS


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str] = ALL_TOPICS,
    partitions: int = 6,
    *,
    wait_seconds: float = 60.0,
    replication_factor: int = 1,
    retention_ms: int | None = None,
    dlq_retention_ms: int | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics that are missing; waits for the broker to answer up to ``wait_seconds``.

    Retention is set on the topics created here (``dlq.*`` have their own); existing topics keep theirs.
    """
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers, request_timeout_ms=10000, **dict(client_options or {})
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in topics if name not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    answer = await admin.create_topics(
                        [
                            NewTopic(
                                name,
                                num_partitions=partitions,
                                replication_factor=replication_factor,
                                topic_configs=_topic_configs(name, retention_ms, dlq_retention_ms),
                            )
                            for name in missing
                        ]
                    )
                    _raise_refusals(answer.topic_errors)
            return
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)
        finally:
            await admin.close()


def _topic_configs(name: str, retention_ms: int | None, dlq_retention_ms: int | None) -> dict[str, str]:
    retention = dlq_retention_ms if name.startswith("dlq.") else retention_ms
    return {} if retention is None else {"retention.ms": str(retention)}


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic (say, a replication factor it cannot meet)."""


def _raise_refusals(topic_errors: Iterable[tuple[Any, ...]]) -> None:
    """The admin client reports per-topic errors in its answer rather than raising: surface them."""
    refused = [
        f"{name}: {message or code}"
        for name, code, *rest in topic_errors
        for message in [rest[0] if rest else None]
        if code not in (0, TopicAlreadyExistsError.errno)
    ]
    if refused:
        raise TopicCreationError("Kafka refused to create topics: " + "; ".join(refused))
