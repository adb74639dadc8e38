"""Publishing what the rest of SeeVee would (sent messages, reveals) or a pre-filled topic, in bulk."""

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from seevee_shared.cloudevents import CONTENT_TYPE, CloudEvent, encode


async def publish_events(bootstrap: str, events: Sequence[CloudEvent]) -> None:
    """Structured CloudEvents keyed by subject, acks=all; returns once every record is acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    headers = [("content-type", CONTENT_TYPE.encode())]
    try:
        futures = [
            await producer.send(event.type, value=encode(event), key=event.key, headers=headers)
            for event in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
