"""Before any fault, as the rest of SeeVee would: reveal everyone, create a run each through the API,
send step 1 of every run (the sandbox's sender), and wait until every service has consumed it all."""

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx

from bench.feed import publish_events
from bench.metrics import wait_consumed
from chaos.plan import SENDER_MAILBOX, STEP_DELAYS_HOURS, WORKSPACE, Person
from sandbox.contacts import revealed_event
from sandbox.pipeline import Endpoints, Pipeline
from sandbox.sender import Sender
from sandbox.sends import Send
from seevee_shared.events import Topic

RUN_CREATORS = 8
PREPARE_TIMEOUT = 1800.0


async def _create_runs(pipeline: Pipeline, people: Sequence[Person]) -> None:
    queue = list(people)

    async def creator() -> None:
        while queue:
            contact = queue.pop().contact
            await pipeline.create_run(
                {
                    "contact_id": contact.contact_id,
                    "thread_id": f"thread-{contact.contact_id}",
                    "recipient": contact.email,
                    "sender_mailbox": SENDER_MAILBOX,
                    "steps": [{"delay_hours": hours} for hours in STEP_DELAYS_HOURS],
                }
            )

    await asyncio.gather(*(creator() for _ in range(RUN_CREATORS)))


async def prepare(
    urls: dict[str, str], bootstrap: str, jwt_secret: str, people: Sequence[Person], rng: random.Random
) -> dict[str, Send]:
    """The send of each contact, by contact id, once every consumer has it."""
    revealed_at = datetime.now(UTC) - timedelta(hours=1)
    await publish_events(bootstrap, [revealed_event(p.contact, WORKSPACE, revealed_at) for p in people])
    sends: dict[str, Send] = {}
    done = asyncio.Event()

    def sent(send: Send) -> None:
        sends[send.contact_id] = send
        if len(sends) >= len(people):
            done.set()

    sender = Sender(bootstrap, group_id=f"chaos-sender-{uuid.uuid4().hex[:8]}", on_send=sent, rng=rng)
    await sender.start()
    sending = asyncio.create_task(sender.run())
    try:
        async with httpx.AsyncClient(timeout=60.0) as client:
            await _create_runs(Pipeline(Endpoints(urls, bootstrap, jwt_secret), WORKSPACE, client), people)
        await asyncio.wait_for(done.wait(), PREPARE_TIMEOUT)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await sender.stop()
    count = len(people)
    await asyncio.gather(
        wait_consumed(urls["bounce-ingest"], Topic.MESSAGE_SENT, count, PREPARE_TIMEOUT),
        wait_consumed(urls["run-orchestrator"], Topic.MESSAGE_SENT, count, PREPARE_TIMEOUT),
        wait_consumed(urls["thread-service"], Topic.MESSAGE_SENT, count, PREPARE_TIMEOUT),
        wait_consumed(urls["refund-service"], Topic.CONTACT_REVEALED, count, PREPARE_TIMEOUT),
    )
    return sends
