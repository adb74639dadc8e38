"""A profile of one consumer's per-event cost, in-process, with pyinstrument.

``python -m bench.profile_consume <service> [N]``: the service's store on SQLite is given what
figure 3 prefills (runs, sent messages, reveals), then N of the events it consumes are applied in
polls of 500 through the real ``EventConsumer.apply`` (no Kafka: decoding, the poll's transaction,
commit). Prints events per second of wall time and CPU milliseconds per 1,000 events (the steadier
of the two on a shared machine), then the profile. Services: run-orchestrator, task-service,
thread-service, refund-service (``message.bounced``) and bounce-ingest (``message.sent``).
"""

import asyncio
import gc
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from bench import scenario
from seevee_shared.bus import EventConsumer, Handlers
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.logging import configure_logging
from seevee_shared.testing import polled

POLL = 500


async def profiled(what: str, count: int, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` under pyinstrument; print its rate and CPU cost per 1,000, then the profile."""
    profiler = Profiler(async_mode="disabled")
    profiler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    profiler.stop()
    print(
        f"{count / wall:,.0f} {what}/s of wall time, {cpu * 1e6 / count:,.0f} CPU ms per 1,000 {what}",
        flush=True,
    )
    print(profiler.output_text(unicode=False, color=False))


@dataclass(frozen=True)
class Feed:
    """A service's registry, what its store is given before the clock starts, and what is timed."""

    handlers: Handlers[Any]
    before: list[CloudEvent]
    events: list[CloudEvent]


Setup = Callable[[str, list[scenario.Contact], datetime], Awaitable[Feed]]


async def _migrate(url: str, migrations: Path) -> None:
    db = Database(url)
    await db.upgrade(migrations)
    await db.dispose()


def _run_of(contact: scenario.Contact) -> str:
    """A run id for services that only carry it (the orchestrator's own feed creates real runs)."""
    return f"run-{contact.tag}-{contact.index}"


async def _orchestrator(url: str, people: list[scenario.Contact], at: datetime) -> Feed:
    from bench.consume import _runs_template
    from run_orchestrator.handlers import handlers
    from run_orchestrator.settings import RunSettings

    runs = await _runs_template(url, people, at)
    bounces = [scenario.message_bounced(contact, runs[contact.contact_id], at) for contact in people]
    return Feed(handlers(RunSettings()), [], bounces)


async def _tasks(url: str, people: list[scenario.Contact], at: datetime) -> Feed:
    from task_service.app import MIGRATIONS_DIR
    from task_service.handlers import handlers

    await _migrate(url, MIGRATIONS_DIR)
    return Feed(handlers(), [], [scenario.message_bounced(c, _run_of(c), at) for c in people])


async def _threads(url: str, people: list[scenario.Contact], at: datetime) -> Feed:
    from thread_service.app import MIGRATIONS_DIR
    from thread_service.handlers import handlers

    await _migrate(url, MIGRATIONS_DIR)
    sends = [scenario.message_sent(c, _run_of(c), at) for c in people]
    return Feed(handlers(), sends, [scenario.message_bounced(c, _run_of(c), at) for c in people])


async def _refunds(url: str, people: list[scenario.Contact], at: datetime) -> Feed:
    from refund_service.app import MIGRATIONS_DIR
    from refund_service.handlers import handlers
    from refund_service.settings import RefundSettings

    await _migrate(url, MIGRATIONS_DIR)
    reveals = [scenario.contact_revealed(contact, at) for contact in people]
    bounces = [scenario.message_bounced(contact, None, at) for contact in people]
    return Feed(handlers(RefundSettings(dns_check_enabled=False)), reveals, bounces)


async def _ingest(url: str, people: list[scenario.Contact], at: datetime) -> Feed:
    from bounce_ingest.app import MIGRATIONS
    from bounce_ingest.handlers import handlers

    await _migrate(url, MIGRATIONS)
    return Feed(handlers(), [], [scenario.message_sent(c, _run_of(c), at) for c in people])


SERVICES: dict[str, Setup] = {
    "run-orchestrator": _orchestrator,
    "task-service": _tasks,
    "thread-service": _threads,
    "refund-service": _refunds,
    "bounce-ingest": _ingest,
}


async def consume(service: str, count: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"profile-{service}-"))
    url = f"sqlite+aiosqlite:///{folder}/store.db"
    people = scenario.contacts(scenario.unique_tag(), count + POLL)
    feed = await SERVICES[service](url, people, scenario.earlier(minutes=60))
    db = Database(url)
    consumer = EventConsumer(group="profile", db=db, handlers=feed.handlers)
    for start in range(0, len(feed.before), POLL):
        await consumer.apply(polled(feed.before[start : start + POLL]))
    records = [polled(feed.events[start : start + POLL]) for start in range(0, len(feed.events), POLL)]
    await consumer.apply(records[0])  # warm-up
    gc.freeze()  # as a started service does (``ServiceRuntime.start``)

    async def polls() -> None:
        for poll in records[1:]:
            await consumer.apply(poll)

    await profiled("events", count, polls)
    await db.dispose()


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in SERVICES:
        raise SystemExit(f"usage: python -m bench.profile_consume {{{','.join(SERVICES)}}} [N]")
    configure_logging("profile", "WARNING")
    asyncio.run(consume(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 6000))


if __name__ == "__main__":
    main()
