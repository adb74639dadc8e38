"""Reading a running service's consumer counters from its ``/metrics``: how far it has got."""

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

CONSUMED = "seevee_consumer_events"


async def consumed(client: httpx.AsyncClient, base_url: str, topic: str, outcome: str = "applied") -> float:
    """Records of ``topic`` the service's consumer has applied (all its groups together)."""
    answer = await client.get(f"{base_url}/metrics")
    answer.raise_for_status()
    total = 0.0
    for family in text_string_to_metric_families(answer.text):
        if family.name != CONSUMED:
            continue
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and (labels.get("topic"), labels.get("outcome")) == (
                topic,
                outcome,
            ):
                total += sample.value
    return total


async def wait_consumed(base_url: str, topic: str, count: int, timeout: float = 300.0) -> None:
    """Until the service has applied ``count`` records of ``topic``; fails loudly after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=10.0) as client:
        while (seen := await consumed(client, base_url, topic)) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"{base_url} applied {seen:.0f} of {count} {topic} records")
            await asyncio.sleep(0.2)
