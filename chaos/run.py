"""``make chaos``: the five services and Kafka under kill -9, then a count of every effect.

Starts a broker and the services as processes it controls (the deploy launcher), prepares the contacts
(reveals, runs, sends), posts one signed bounce per contact through SendGrid, SES (SNS) and Mailgun
webhooks with duplicates and each provider's retries, and meanwhile kills -9 every service in turn
(bounce-ingest with webhooks in flight), the broker once and, with ``--fault db-stop``, stops the
database. Once the system is quiet it counts effects from the APIs, the topics and the stores, prints the
table, writes it as JSON under ``chaos/results/`` and exits 1 if anything was lost, doubled,
dead-lettered or never answered 2xx.
"""

import argparse
import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos import census, plan, report
from chaos.faults import FaultInjector
from chaos.prepare import prepare
from chaos.stores import Stores
from chaos.verdict import judge
from chaos.webhooks import ProviderPool, build_deliveries, in_chunks
from sandbox.credentials import dev_environment, load_or_create
from seevee_deploy.broker_config import free_port
from seevee_deploy.localkafka import PARTITIONS, LocalKafka, create_topics
from seevee_deploy.service_plan import SERVICES
from seevee_deploy.stack import Stack

JWT_SECRET = "chaos-secret-0123456789abcdef0123456789abcdef"
SPIKE_MIN_CONTACTS = 5
SPIKE_MIN_RATE = 0.2
SETTLE_POLL_SECONDS = 2.0


def say(text: str) -> None:
    print(f"[chaos {datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bounces", type=int, default=1000, help="contacts, each bounced once (default 1000)"
    )
    parser.add_argument("--kills", type=int, default=2, help="rounds of kill -9, each service once per round")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default=os.environ.get("DB") or "sqlite")
    parser.add_argument("--fault", choices=("none", "db-stop"), default=os.environ.get("FAULT") or "none")
    parser.add_argument("--db-stop-seconds", type=float, default=20.0)
    parser.add_argument("--no-broker-kill", action="store_true", help="leave the broker running")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of deliveries posted twice")
    parser.add_argument("--time-scale", type=float, default=60.0, help="providers' minutes become seconds")
    parser.add_argument("--sendgrid-batch", type=int, default=10, help="SendGrid events per POST")
    parser.add_argument("--concurrency", type=int, default=8, help="providers' connections at once")
    parser.add_argument("--settle-timeout", type=float, default=900.0, help="seconds to wait for quiet")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--name", default=None, help="results file name (default from db, fault, size)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (stores, logs)")
    return parser.parse_args(argv)


async def settle(bootstrap: str, stores: Stores, timeout: float) -> tuple[bool, dict[str, Any]]:
    """Quiet: no consumer lag, no unpublished outbox row, and the output topics unchanged between polls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    previous: Any = None
    state: dict[str, Any] = {}
    while loop.time() < deadline:
        try:
            lag = await census.consumer_lag(bootstrap)
            pending = await stores.unpublished_outbox()
            ends = await census.end_offsets(bootstrap, census.OUTPUT_TOPICS)
        except Exception as error:  # a store or the broker still recovering: look again
            say(f"  not quiet yet ({type(error).__name__}: {error})")
            await asyncio.sleep(SETTLE_POLL_SECONDS)
            continue
        state = {"lag": lag, "unpublished_outbox": pending}
        current = (tuple(sorted(lag.items())), tuple(sorted(pending.items())), tuple(sorted(ends.items())))
        if not any(lag.values()) and not any(pending.values()) and current == previous:
            return True, state
        previous = current
        await asyncio.sleep(SETTLE_POLL_SECONDS)
    return False, state


async def run(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    name = args.name or f"{args.db}-{args.fault}-{args.bounces}"
    work = Path(tempfile.mkdtemp(prefix="seevee-chaos-"))
    var_dir = work / "var"
    people = plan.cast(args.bounces, rng)
    spikes = plan.expected_spikes(people, SPIKE_MIN_CONTACTS, SPIKE_MIN_RATE)
    faults = plan.fault_plan(args.kills, not args.no_broker_kill, args.fault == "db-stop", rng)
    say(
        f"{args.bounces:,} bounces, {len(faults)} faults, {args.db}, fault {args.fault}, seed {seed}, "
        f"in {work}"
    )
    timings: dict[str, float] = {}
    started = time.monotonic()

    stores = Stores(args.db, var_dir)
    kafka = LocalKafka(work / "kafka", partitions=PARTITIONS)
    pool: ProviderPool | None = None
    stack: Stack | None = None
    try:
        await stores.start()
        await kafka.start()
        await create_topics(kafka.bootstrap_servers)
        credentials = load_or_create(var_dir)
        env = {
            **dev_environment(var_dir),
            **stores.environment(),
            "SEEVEE_JWT_SECRET": JWT_SECRET,
            "SPIKE_MIN_CONTACTS": str(SPIKE_MIN_CONTACTS),
            "SPIKE_MIN_RATE": str(SPIKE_MIN_RATE),
            "LOG_LEVEL": "WARNING",
        }
        ports = {spec.name: free_port() for spec in SERVICES}
        stack = Stack(var_dir=var_dir, ports=ports, extra_env=env, kafka_bootstrap=kafka.bootstrap_servers)
        await stack.start()
        timings["start_s"] = time.monotonic() - started
        say(f"Kafka and five services up; preparing {len(people):,} reveals, runs and sends")

        sends = await prepare(stack.urls, kafka.bootstrap_servers, JWT_SECRET, people, rng)
        timings["prepare_s"] = time.monotonic() - started - sum(timings.values())
        deliveries = build_deliveries(credentials, people, sends, datetime.now(UTC), rng, args.sendgrid_batch)
        chunks = in_chunks(deliveries, len(faults) + 1, args.duplicates, rng)
        say(
            f"posting {sum(map(len, chunks)):,} webhook deliveries in {len(chunks)} parts, a fault after each"
        )

        pool = ProviderPool(stack.urls["bounce-ingest"], args.time_scale, args.concurrency)
        pool.start()
        injector = FaultInjector(stack, kafka, stores, pool, args.db_stop_seconds)
        released = 0
        for chunk, fault in zip(chunks, faults, strict=False):
            pool.release(chunk)
            released += len(chunk)
            halfway = released - len(chunk) // 2
            await pool.first_tries_reach(halfway)
            record = await injector.apply(fault)
            say(f"  fault {record.number}: {record.kind} {record.target} ({record.in_flight} in flight), "
                f"back after {record.back_after_s:.1f}s")  # fmt: skip
        pool.release(chunks[-1])
        try:
            await asyncio.wait_for(pool.drained(), args.settle_timeout)
        except TimeoutError:
            say("  some webhooks were still being retried when time ran out")
        timings["faults_s"] = time.monotonic() - started - sum(timings.values())
        say(
            f"every webhook answered or given up ({pool.summary()['finally_2xx']:,} ended 2xx); "
            "waiting for quiet"
        )

        settled, state = await settle(kafka.bootstrap_servers, stores, args.settle_timeout)
        timings["settle_s"] = time.monotonic() - started - sum(timings.values())
        say(
            "quiet; counting"
            if settled
            else f"not quiet after {args.settle_timeout:.0f}s ({state}); counting"
        )
        observed = await census.take(kafka.bootstrap_servers, stack.urls, JWT_SECRET, stores)
        verdict = judge(people, sends, spikes, observed, injector.records, pool.summary(), settled)
        timings["count_s"] = time.monotonic() - started - sum(timings.values())
    finally:
        if pool is not None:
            await pool.close()
        if stack is not None:
            await stack.stop()
        await kafka.stop()
        await stores.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    command = " ".join(["python -m chaos.run", *sys.argv[1:]])
    heading = (
        f"chaos: {args.bounces:,} bounces, {args.db}, fault {args.fault}, seed {seed} "
        f"({os.cpu_count()} cores, {time.monotonic() - started:.0f}s)"
    )
    print("\n" + report.render(verdict, injector.records, heading), flush=True)
    result = {
        "name": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "options": {k: v for k, v in vars(args).items() if k != "name"},
        "seed": seed,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "faults": [record.as_dict() for record in injector.records],
        "expected_spikes": len(spikes),
        "verdict": verdict.as_dict(),
    }
    say(f"written {report.write(result, name)}")
    return 0 if verdict.passed else 1


def main(argv: list[str] | None = None) -> None:
    sys.exit(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    main()
