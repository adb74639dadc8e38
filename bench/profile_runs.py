"""Profiles of the run-orchestrator's two hot paths, in-process, with pyinstrument.

``python -m bench.profile_runs consume [N]``: N bounces of existing runs applied in polls of 500
through the real ``EventConsumer`` on SQLite (no Kafka: decoding, the poll's transaction, commit).
``python -m bench.profile_runs create [N]``: N ``POST /v1/runs`` over 4 concurrent ASGI clients with
the service's lifespan running (local Kafka started for it). Each prints events or runs per second of
wall time and per CPU second of the process (the steadier of the two on a shared machine), then the
profile.
"""

import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyinstrument import Profiler

from bench import scenario
from bench.consume import _runs_template
from run_orchestrator.handlers import handlers
from run_orchestrator.settings import RunSettings
from seevee_shared.auth import issue_token
from seevee_shared.bus import EventConsumer
from seevee_shared.db import Database
from seevee_shared.logging import configure_logging
from seevee_shared.testing import polled, running_service

POLL = 500
SECRET = "bench-secret-0123456789abcdef0123456789"


async def _profiled(what: str, count: int, work: Callable[[], Awaitable[None]]) -> None:
    profiler = Profiler(async_mode="disabled")
    profiler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    profiler.stop()
    print(f"{count / wall:,.0f} {what}/s of wall time, {count / cpu:,.0f} per CPU second", flush=True)
    print(profiler.output_text(unicode=False, color=False))


async def consume(count: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="profile-consume-"))
    people = scenario.contacts(scenario.unique_tag(), count + POLL)
    at = scenario.earlier(minutes=60)
    runs = await _runs_template(f"sqlite+aiosqlite:///{folder / 'runs.db'}", people, at)
    events = [scenario.message_bounced(c, runs[c.contact_id], at) for c in people]
    db = Database(f"sqlite+aiosqlite:///{folder}/runs.db")
    consumer = EventConsumer(group="profile", db=db, handlers=handlers(RunSettings()))
    await consumer.apply(polled(events[:POLL]))  # warm-up

    async def polls() -> None:
        for start in range(POLL, len(events), POLL):
            await consumer.apply(polled(events[start : start + POLL]))

    await _profiled("events", count, polls)
    await db.dispose()


async def create(count: int) -> None:
    from run_orchestrator.app import create_app
    from seevee_deploy.kafka_jars import ensure_kafka_jars
    from seevee_deploy.localkafka import LocalKafka

    await asyncio.to_thread(ensure_kafka_jars)
    folder = Path(tempfile.mkdtemp(prefix="profile-create-"))
    async with LocalKafka(folder / "kafka", heap="512m") as kafka:
        settings = RunSettings(
            database_url=f"sqlite+aiosqlite:///{folder}/runs.db",
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            jwt_secret=SECRET,
            log_level="WARNING",
        )
        headers = {"Authorization": f"Bearer {issue_token(SECRET, 'bench@seevee.test', 'ws-p', ['user'])}"}
        start_at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        async with running_service(create_app(settings)) as client:

            async def creations(n: int) -> None:
                for _ in range(n):
                    tag = uuid.uuid4().hex[:12]
                    body = {
                        "contact_id": f"c-{tag}",
                        "thread_id": f"t-{tag}",
                        "recipient": f"p-{tag}@acme.test",
                        "sender_mailbox": "sam@seevee.test",
                        "start_at": start_at,
                        "steps": [{"delay_hours": 0}, {"delay_hours": 72}, {"delay_hours": 168}],
                    }
                    answer = await client.post("/v1/runs", json=body, headers=headers)
                    if answer.status_code != 201:
                        raise RuntimeError(answer.text)

            async def four_clients() -> None:
                await asyncio.gather(*(creations(count // 4) for _ in range(4)))

            await asyncio.gather(*(creations(25) for _ in range(4)))  # warm-up
            await _profiled("runs", count, four_clients)


def main() -> None:
    what, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    configure_logging("profile", "WARNING")
    asyncio.run({"consume": consume, "create": create}[what](count))


if __name__ == "__main__":
    main()
