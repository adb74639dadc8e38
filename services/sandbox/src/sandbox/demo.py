"""``make demo``: the rest of SeeVee against the running pipeline, then what the pipeline made of it.

Reveals contacts, creates their runs through the API, sends step 1 of each (as the sender), posts signed
SendGrid, SES and Mailgun bounces for a share of the sends, and prints the paused runs, tasks, labelled
threads and refund records the services report. Exit 0 when every expected effect showed up, 1 when some did
not within the timeout, 2 when the pipeline is not running or refuses the demo's calls.
"""

import argparse
import asyncio
import random
import sys
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from jwt.warnings import InsecureKeyLengthWarning

from sandbox.contacts import DemoContact, cast, revealed_event
from sandbox.credentials import DEFAULT_VAR_DIR, DevCredentials, load_or_create
from sandbox.pipeline import DEV_JWT_SECRET, Endpoints, Pipeline, PipelineError
from sandbox.sender import Sender
from sandbox.sends import Send
from sandbox.summary import Outcome, render
from sandbox.webhooks import PlannedBounce, post_bounces
from seevee_shared.cloudevents import CONTENT_TYPE, encode

WORKSPACE = "ws-demo"
"""The workspace ``make token`` issues tokens for by default, so the demo's data is one curl away."""
SENDER_MAILBOX = "sam.rivera@seevee-demo.example"
STEP_DELAYS_HOURS = (0, 72, 120)
"""Step 1 goes out at once; the follow-ups are days away, so the demo only ever sends step 1."""


def say(text: str) -> None:
    print(text, flush=True)


async def wait_for(what: str, check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Poll ``check`` until it holds or ``timeout`` passes."""
    say(f"  waiting for {what} ...")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            say(f"  gave up waiting for {what} after {timeout:.0f}s")
            return False
        await asyncio.sleep(0.5)
    return True


async def reveal(bootstrap: str, contacts: list[DemoContact], at: datetime) -> None:
    """Publish ``contact.revealed`` as the reveals team does."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        headers = [("content-type", CONTENT_TYPE.encode())]
        for contact in contacts:
            event = revealed_event(contact, WORKSPACE, at)
            await producer.send_and_wait(event.type, encode(event), key=event.key, headers=headers)
    finally:
        await producer.stop()


async def create_runs(pipeline: Pipeline, contacts: list[DemoContact]) -> list[Outcome]:
    outcomes = []
    for contact in contacts:
        run = await pipeline.create_run(
            {
                "contact_id": contact.contact_id,
                "thread_id": f"thread-{contact.contact_id}",
                "recipient": contact.email,
                "sender_mailbox": SENDER_MAILBOX,
                "steps": [{"delay_hours": hours} for hours in STEP_DELAYS_HOURS],
            }
        )
        outcomes.append(Outcome(contact=contact, run_id=run["run_id"], run=run))
    return outcomes


async def refresh(pipeline: Pipeline, outcome: Outcome) -> None:
    """Read back everything the services hold about one contact."""
    contact_id = outcome.contact.contact_id
    outcome.run = await pipeline.run(outcome.run_id)
    if outcome.bounced:
        outcome.tasks = await pipeline.items("task-service", "/v1/tasks", contact_id=contact_id)
        outcome.threads = await pipeline.items("thread-service", "/v1/threads", contact_id=contact_id)
        outcome.refunds = await pipeline.items("refund-service", "/v1/refunds", contact_id=contact_id)


async def play(pipeline: Pipeline, credentials: DevCredentials, args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    contacts = cast(args.contacts, args.bounce_share, rng)
    sends: dict[str, Send] = {}
    sender = Sender(
        pipeline.endpoints.kafka_bootstrap,
        on_send=lambda send: sends.__setitem__(send.run_id, send),
        rng=random.Random(rng.random()),
    )
    await sender.start()
    sending = asyncio.create_task(sender.run())
    try:
        now = datetime.now(UTC)
        await reveal(pipeline.endpoints.kafka_bootstrap, contacts, now)
        say(f"Revealed {len(contacts)} contacts in workspace {WORKSPACE} (contact.revealed)")
        outcomes = await create_runs(pipeline, contacts)
        say(f"Created {len(outcomes)} runs of {len(STEP_DELAYS_HOURS)} steps (POST /v1/runs), step 1 due now")

        async def all_sent() -> bool:
            if sending.done():
                sending.result()  # the sender only ever stops by failing: say why now
            return all(o.run_id in sends for o in outcomes)

        sent = await wait_for("the sender to send step 1 of every run", all_sent, args.timeout)
        for outcome in outcomes:
            outcome.send = sends.get(outcome.run_id)
        say(f"Sent {sum(o.send is not None for o in outcomes)} emails (run.step_due -> message.sent)")
        if not sent and not sends:
            say("Nothing was sent: is the run-orchestrator emitting run.step_due on this Kafka?")
            return 1

        async def steps_recorded() -> bool:
            runs = [await pipeline.run(o.run_id) for o in outcomes if o.send]
            return all(run["steps"][0]["status"] == "sent" for run in runs)

        await wait_for("the orchestrator to record the sends", steps_recorded, args.timeout)
        bounces = [
            PlannedBounce(o.send, o.contact.scenario.bounce)
            for o in outcomes
            if o.send and o.contact.scenario.bounce
        ]
        delivered = [o.send for o in outcomes if o.send and not o.contact.scenario.bounce]
        deliveries = await post_bounces(pipeline, credentials, bounces, delivered, datetime.now(UTC), rng)
        providers = ", ".join(delivery.provider for delivery in deliveries) or "none"
        say(f"Posted {len(bounces)} bounces in {len(deliveries)} signed webhooks ({providers})")

        async def all_settled() -> bool:
            for outcome in outcomes:
                if outcome.send is not None and not outcome.settled():
                    await refresh(pipeline, outcome)
            return all(o.settled() for o in outcomes if o.send is not None)

        settled = await wait_for(
            "runs, tasks, threads and refunds to show the bounces", all_settled, args.timeout
        )
        for outcome in outcomes:
            if outcome.send is not None:
                await refresh(pipeline, outcome)
        for line in render(outcomes, deliveries):
            say(line)
        complete = settled and sent
        say("Everything came through." if complete else "Some effects did not show up in time (see above).")
        return 0 if complete else 1
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        await sender.stop()


async def main_async(args: argparse.Namespace) -> int:
    endpoints = Endpoints.from_environment()
    if endpoints.jwt_secret == DEV_JWT_SECRET:  # known to be short: it only ever signs local tokens
        warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
    credentials = load_or_create(args.var_dir)
    async with httpx.AsyncClient(timeout=10.0) as client:
        pipeline = Pipeline(endpoints, WORKSPACE, client)
        say(f"Waiting for the five services ({', '.join(endpoints.urls.values())}) ...")
        missing = await pipeline.wait_ready(args.timeout)
        if missing:
            say(f"Not ready: {', '.join(missing)}. Start the pipeline first: make run")
            return 2
        try:
            return await play(pipeline, credentials, args)
        except PipelineError as error:
            say(f"The pipeline refused a call: {error}")
            if "webhook answered 401" in str(error):
                say(
                    f"The ingest does not know the sandbox's keys ({args.var_dir}/sandbox): restart make run."
                )
            return 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=12, help="contacts to reveal and run (default 12)")
    parser.add_argument("--bounce-share", type=float, default=0.4, help="share of sends that bounce (0.4)")
    parser.add_argument("--seed", type=int, default=None, help="fixes names, employers and who bounces")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait at each stage (60)")
    parser.add_argument("--var-dir", type=Path, default=DEFAULT_VAR_DIR, help="where make run keeps var/")
    args = parser.parse_args(argv)
    if args.contacts < 1 or not 0 <= args.bounce_share <= 1:
        parser.error("--contacts must be at least 1 and --bounce-share between 0 and 1")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    say(f"SeeVee sandbox demo: {args.contacts} contacts, bounce share {args.bounce_share}, seed {args.seed}")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
