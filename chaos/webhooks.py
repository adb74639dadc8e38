"""The providers' side of a fault run: signed webhooks posted by a pool that retries as each provider does.

A delivery is one request as a provider sends it (a SendGrid batch, one SNS notification, one Mailgun
event). A duplicate is the same signed request delivered again later, as at-least-once providers do.
Every try is kept, so the run can say how many deliveries ended 2xx and how many were given up on.
"""

import asyncio
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from chaos.plan import Person
from chaos.retries import POLICIES
from sandbox.credentials import DevCredentials
from sandbox.sends import Send
from sandbox.signing import SignedRequest
from sandbox.webhooks import SINGLE_EVENT_REQUESTS, PlannedBounce, sendgrid_request

REQUEST_TIMEOUT = 30.0
"""How long the pool waits for an answer before it counts the try as failed (and retries)."""


@dataclass
class Delivery:
    number: int
    provider: str
    request: SignedRequest
    contact_ids: list[str]
    duplicate: bool = False
    tries: list[str] = field(default_factory=list)
    """``200``, ``503``, ``connect``, ``timeout``... one entry per try."""
    final_status: int | None = None
    gave_up: bool = False

    @property
    def done(self) -> bool:
        return self.final_status is not None or self.gave_up

    @property
    def accepted(self) -> bool:
        return self.final_status is not None and 200 <= self.final_status < 300

    def twin(self, number: int) -> "Delivery":
        return Delivery(number, self.provider, self.request, self.contact_ids, duplicate=True)


def build_deliveries(
    credentials: DevCredentials,
    people: Sequence[Person],
    sends: dict[str, Send],
    at: datetime,
    rng: random.Random,
    sendgrid_batch: int,
) -> list[Delivery]:
    """One bounce per person, through the provider its send went out with."""
    planned = [PlannedBounce(sends[p.contact.contact_id], p.kind) for p in people]
    deliveries: list[Delivery] = []
    sendgrid = [b for b in planned if b.send.provider == "sendgrid"]
    for start in range(0, len(sendgrid), sendgrid_batch):
        batch = sendgrid[start : start + sendgrid_batch]
        request = sendgrid_request(credentials, batch, [], at, rng)
        deliveries.append(Delivery(len(deliveries), "sendgrid", request, [b.send.contact_id for b in batch]))
    for bounce in planned:
        build = SINGLE_EVENT_REQUESTS.get(bounce.send.provider)
        if build is not None:
            request = build(credentials, bounce, at, rng)
            deliveries.append(
                Delivery(len(deliveries), bounce.send.provider, request, [bounce.send.contact_id])
            )
    return deliveries


def in_chunks(
    deliveries: Sequence[Delivery], chunks: int, duplicate_share: float, rng: random.Random
) -> list[list[Delivery]]:
    """Shuffled into ``chunks`` parts; a share of them is delivered a second time, one chunk later."""
    order = list(deliveries)
    rng.shuffle(order)
    parts: list[list[Delivery]] = [order[i::chunks] for i in range(chunks)]
    number = len(order)
    for index, part in enumerate(parts):
        for delivery in list(part):
            if rng.random() < duplicate_share:
                parts[min(index + 1, chunks - 1)].append(delivery.twin(number))
                number += 1
    for part in parts:
        rng.shuffle(part)
    return parts


class ProviderPool:
    """Workers that post deliveries back to back; a failed try is put back after the provider's wait."""

    def __init__(self, ingest_url: str, time_scale: float, concurrency: int) -> None:
        self.ingest_url = ingest_url
        self.time_scale = time_scale
        self.concurrency = concurrency
        self.deliveries: list[Delivery] = []
        self.in_flight = 0
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._taken = 0
        self._changed = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.concurrency)]

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await self._client.aclose()

    def release(self, deliveries: Iterable[Delivery]) -> None:
        for delivery in deliveries:
            self.deliveries.append(delivery)
            self._queue.put_nowait(delivery)

    @property
    def first_tries_taken(self) -> int:
        return self._taken

    async def wait_for(self, check: Callable[["ProviderPool"], bool]) -> None:
        """Until ``check(pool)`` holds; woken by every finished try."""
        while not check(self):
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=1.0)
            except TimeoutError:
                continue

    async def first_tries_reach(self, count: int) -> None:
        """Until ``count`` deliveries have had their first try (a fault then lands mid-part)."""
        await self.wait_for(lambda pool: pool.first_tries_taken >= count)

    async def drained(self) -> None:
        await self.wait_for(lambda pool: all(d.done for d in pool.deliveries))

    def summary(self) -> dict[str, object]:
        tries = Counter(outcome for d in self.deliveries for outcome in d.tries)
        by_provider = Counter(d.provider for d in self.deliveries)
        return {
            "deliveries": len(self.deliveries),
            "duplicates": sum(d.duplicate for d in self.deliveries),
            "by_provider": dict(sorted(by_provider.items())),
            "tries": sum(tries.values()),
            "retried": sum(len(d.tries) > 1 for d in self.deliveries),
            "outcomes": dict(sorted(tries.items())),
            "finally_2xx": sum(d.accepted for d in self.deliveries),
            "gave_up": sum(d.gave_up for d in self.deliveries),
            "not_done": sum(not d.done for d in self.deliveries),
        }

    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            if not delivery.tries:
                self._taken += 1
            self.in_flight += 1
            try:
                status = await self._post(delivery)
            finally:
                self.in_flight -= 1
            self._settle(delivery, status)
            self._changed.set()

    async def _post(self, delivery: Delivery) -> int | None:
        url = f"{self.ingest_url}/v1/webhooks/{delivery.provider}"
        try:
            answer = await self._client.post(
                url, content=delivery.request.body, headers=delivery.request.headers
            )
        except httpx.TimeoutException:
            delivery.tries.append("timeout")
            return None
        except httpx.TransportError:
            delivery.tries.append("connect")
            return None
        delivery.tries.append(str(answer.status_code))
        return answer.status_code

    def _settle(self, delivery: Delivery, status: int | None) -> None:
        if status is not None and 200 <= status < 300:
            delivery.final_status = status
            return
        delay = POLICIES[delivery.provider].next_delay(len(delivery.tries) - 1, status, self.time_scale)
        if delay is None:
            delivery.gave_up = True
            delivery.final_status = status
            return
        asyncio.get_running_loop().call_later(delay, self._queue.put_nowait, delivery)
