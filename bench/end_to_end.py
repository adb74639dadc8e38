"""Figure 4: bounces/s from SendGrid webhook to all four effects, and the latency at half that load.

The five services run as processes (``Stack``, as ``make run`` starts them) on the bench's Kafka. An
effect counts as visible when the event announcing it is on Kafka: each service publishes it from the
outbox only after the effect is committed (run.paused, task.created, thread.message_labeled,
refund.eligibility_recorded, all keyed by the contact). The latency anchor is a raw aiokafka
produce-to-consume round trip on the same broker.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench import scenario
from bench.environment import BenchEnv
from bench.feed import publish_events
from bench.http_load import RefusedPost, post_all
from bench.metrics import wait_consumed
from bench.repetition import median_of
from bench.sizes import Sizes
from bench.stats import median, percentile, ratio
from bounce_ingest.providers.signing import SendGridSigner, SignedRequest
from seevee_deploy.broker_config import free_port
from seevee_deploy.localkafka import create_topics
from seevee_deploy.service_plan import SERVICES
from seevee_deploy.stack import Stack
from seevee_shared.auth import issue_token
from seevee_shared.bus.outbox import new_producer
from seevee_shared.events import Topic

EFFECTS = (
    Topic.RUN_PAUSED,
    Topic.TASK_CREATED,
    Topic.THREAD_MESSAGE_LABELED,
    Topic.REFUND_ELIGIBILITY_RECORDED,
)
ROUND_TRIP_TOPIC = "bench.round-trip"
JWT_SECRET = "bench-secret-0123456789abcdef0123456789"
SETTLE_TIMEOUT = 300.0


class Effects:
    """Watches the four effect topics; a contact is done when all four have announced it."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {}
        self.done_at: dict[str, float] = {}
        self.first: dict[tuple[str, str], tuple[float, float]] = {}
        """(contact, topic) -> when its first record arrived here and when it was produced (epoch s)."""
        self._changed = asyncio.Event()

    def record(self, contact_id: str, topic: str, at: float, produced_at: float) -> None:
        self.first.setdefault((contact_id, topic), (at, produced_at))
        topics = self.seen.setdefault(contact_id, set())
        topics.add(topic)
        if topics.issuperset(EFFECTS) and contact_id not in self.done_at:
            self.done_at[contact_id] = at
            self._changed.set()

    async def all_done(self, contact_ids: list[str], timeout: float = SETTLE_TIMEOUT) -> float:
        """The moment the last of ``contact_ids`` was done."""
        deadline = time.perf_counter() + timeout
        while any(c not in self.done_at for c in contact_ids):
            if time.perf_counter() > deadline:
                missing = [c for c in contact_ids if c not in self.done_at]
                partial = {c: sorted(self.seen.get(c, ())) for c in missing[:3]}
                raise TimeoutError(f"{len(missing)} bounces without all four effects, e.g. {partial}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=1.0)
        return max(self.done_at[c] for c in contact_ids)


@contextlib.asynccontextmanager
async def watching(bootstrap: str, also: tuple[str, ...] = ()) -> AsyncIterator[Effects]:
    """The effect topics, and ``also`` these (recorded, not waited for)."""
    effects = Effects()
    consumer = AIOKafkaConsumer(
        *EFFECTS, *also, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest"
    )
    await consumer.start()
    await consumer.seek_to_end()
    for partition in consumer.assignment():
        await consumer.position(partition)

    async def loop() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                now = time.perf_counter()
                for record in records:
                    if record.key is not None:
                        effects.record(record.key.decode(), record.topic, now, record.timestamp / 1000)

    task = asyncio.create_task(loop())
    try:
        yield effects
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()


async def _create_runs(url: str, people: list[scenario.Contact]) -> dict[str, str]:
    """One run per contact through the orchestrator's API, as the product creates them."""
    token = issue_token(JWT_SECRET, "bench@seevee.test", scenario.WORKSPACE, ["user"])
    runs: dict[str, str] = {}
    queue = list(people)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:

        async def worker() -> None:
            while queue:
                contact = queue.pop()
                body = {
                    "contact_id": contact.contact_id,
                    "thread_id": contact.thread_id,
                    "recipient": contact.recipient,
                    "sender_mailbox": "sam@seevee.test",
                    "steps": [{"delay_hours": 24}, {"delay_hours": 72}],
                }
                answer = await client.post("/v1/runs", json=body, timeout=60.0)
                if answer.status_code != 201:
                    raise RefusedPost(f"creating a run answered {answer.status_code}: {answer.text[:300]}")
                runs[contact.contact_id] = answer.json()["run_id"]

        await asyncio.gather(*(worker() for _ in range(8)))
    return runs


async def _prepare(stack: Stack, bootstrap: str, people: list[scenario.Contact]) -> None:
    """Runs, sent messages and reveals for everyone, consumed by every service before any bounce."""
    runs = await _create_runs(stack.urls["run-orchestrator"], people)
    at = scenario.earlier(minutes=15)
    events = [scenario.message_sent(c, runs[c.contact_id], at) for c in people]
    events += [scenario.contact_revealed(c, at) for c in people]
    await publish_events(bootstrap, events)
    await asyncio.gather(
        wait_consumed(stack.urls["bounce-ingest"], Topic.MESSAGE_SENT, len(people)),
        wait_consumed(stack.urls["run-orchestrator"], Topic.MESSAGE_SENT, len(people)),
        wait_consumed(stack.urls["thread-service"], Topic.MESSAGE_SENT, len(people)),
        wait_consumed(stack.urls["refund-service"], Topic.CONTACT_REVEALED, len(people)),
    )


@contextlib.asynccontextmanager
async def prepared_stack(
    folder: Path, bootstrap: str, signer: SendGridSigner, people: list[scenario.Contact]
) -> AsyncIterator[Stack]:
    """The five services as processes on ``bootstrap``, every contact's run, send and reveal consumed."""
    stack = Stack(
        var_dir=folder / "var",
        ports={spec.name: free_port() for spec in SERVICES},
        extra_env={
            "SEEVEE_JWT_SECRET": JWT_SECRET,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key_b64,
            "DNS_CHECK_ENABLED": "false",
        },
        kafka_bootstrap=bootstrap,
    )
    async with stack:
        await _prepare(stack, bootstrap, people)
        yield stack


def _batches(signer: SendGridSigner, people: list[scenario.Contact], size: int) -> list[SignedRequest]:
    now = datetime.now(UTC)
    return [
        signer.sign(
            [scenario.sendgrid_bounce(c, f"sg-{c.tag}-{c.index}", now) for c in people[start : start + size]],
            int(time.time()),
        )
        for start in range(0, len(people), size)
    ]


async def _throughput(
    url: str, signer: SendGridSigner, effects: Effects, pool: list[scenario.Contact], sizes: Sizes
) -> float:
    async def trial(number: int) -> float:
        start = (number + sizes.warmups) * sizes.e2e_throughput_bounces
        people = pool[start : start + sizes.e2e_throughput_bounces]
        batches = _batches(signer, people, sizes.e2e_batch_size)
        started = time.perf_counter()
        await post_all(f"{url}/v1/webhooks/sendgrid", batches, sizes.http_concurrency)
        finished = await effects.all_done([c.contact_id for c in people])
        return len(people) / (finished - started)

    return (await median_of(trial, sizes.repetitions, sizes.warmups)).median


async def steady_posts(
    url: str, signer: SendGridSigner, effects: Effects, pool: list[scenario.Contact], rate: float
) -> dict[str, float]:
    """Small batches posted on a steady clock at ``rate`` bounces/s; returns when each contact's webhook
    was answered, once all four effects of every one were seen."""
    batch = max(1, min(10, round(rate / 20)))
    interval = batch / rate
    accepted: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=120.0) as client:

        async def post(request: SignedRequest, people: list[scenario.Contact]) -> None:
            answer = await client.post(
                f"{url}/v1/webhooks/sendgrid", content=request.body, headers=request.headers
            )
            if not answer.is_success:
                raise RefusedPost(f"webhook answered {answer.status_code}: {answer.text[:300]}")
            now = time.perf_counter()
            for contact in people:
                accepted[contact.contact_id] = now

        posts = []
        started = time.perf_counter()
        for number, start in enumerate(range(0, len(pool), batch)):
            people = pool[start : start + batch]
            [request] = _batches(signer, people, batch)
            await asyncio.sleep(max(0.0, started + number * interval - time.perf_counter()))
            posts.append(asyncio.create_task(post(request, people)))
        await asyncio.gather(*posts)
    await effects.all_done(list(accepted))
    return accepted


def latencies_ms(effects: Effects, accepted: dict[str, float]) -> list[float]:
    """Webhook answered -> all four effects seen, per contact."""
    return [(effects.done_at[contact] - at) * 1000 for contact, at in accepted.items()]


async def _round_trip_p99(bootstrap: str, sizes: Sizes) -> float:
    """Raw aiokafka: a producer set up as the outbox's, a consumer always polling; p99 send -> receive."""
    await create_topics(bootstrap, [ROUND_TRIP_TOPIC])

    async def trial(_number: int) -> float:
        consumer = AIOKafkaConsumer(
            ROUND_TRIP_TOPIC, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest"
        )
        producer = new_producer(bootstrap, "bench-round-trip")
        await consumer.start()
        await producer.start()
        await consumer.seek_to_end()
        for partition in consumer.assignment():
            await consumer.position(partition)
        sent: dict[bytes, float] = {}
        latencies: list[float] = []

        async def receive() -> None:
            while len(latencies) < sizes.round_trips:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    now = time.perf_counter()
                    latencies.extend((now - sent[r.key]) * 1000 for r in records if r.key in sent)

        receiving = asyncio.create_task(receive())
        try:
            for _ in range(sizes.round_trips):
                key = uuid.uuid4().bytes
                sent[key] = time.perf_counter()
                await producer.send(ROUND_TRIP_TOPIC, value=b"x" * 600, key=key)
                await asyncio.sleep(0.005)
            await asyncio.wait_for(receiving, timeout=60)
        finally:
            receiving.cancel()
            await producer.stop()
            await consumer.stop()
        return percentile(latencies, 0.99)

    return (await median_of(trial, sizes.repetitions, sizes.warmups)).median


async def measure(env: BenchEnv, sizes: Sizes) -> dict[str, Any]:
    folder = env.folder("e2e")
    signer = SendGridSigner()
    rounds = sizes.warmups + sizes.repetitions
    tag = scenario.unique_tag()
    throughput_pool = scenario.contacts(tag, rounds * sizes.e2e_throughput_bounces)
    latency_pool = scenario.contacts(tag, sizes.repetitions * sizes.e2e_latency_bounces, len(throughput_pool))
    async with prepared_stack(folder, env.bootstrap, signer, throughput_pool + latency_pool) as stack:
        url = stack.urls["bounce-ingest"]
        async with watching(env.bootstrap) as effects:
            rate = await _throughput(url, signer, effects, throughput_pool, sizes)
            p50s, p99s = [], []
            for number in range(sizes.repetitions):
                start = number * sizes.e2e_latency_bounces
                chunk = latency_pool[start : start + sizes.e2e_latency_bounces]
                latencies = latencies_ms(effects, await steady_posts(url, signer, effects, chunk, rate / 2))
                p50s.append(percentile(latencies, 0.5))
                p99s.append(percentile(latencies, 0.99))
    anchor_p99 = await _round_trip_p99(env.bootstrap, sizes)
    return {
        "e2e_bounces_per_s": rate,
        "e2e_p50_ms": median(p50s),
        "e2e_p99_ms": median(p99s),
        "round_trip_p99_ms": anchor_p99,
        "e2e_p99_ratio": ratio(median(p99s), anchor_p99),
    }
