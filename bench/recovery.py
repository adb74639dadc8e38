"""What a kill -9 costs a consumer service: re-published events, and the time until it consumes again.

``python -m bench.recovery republish`` feeds the task-service (its own process, SQLite store, real
local Kafka) a steady stream of ``message.bounced`` events, kills it with SIGKILL at a random moment
while it works, restarts it after ``--downtime`` seconds (so each restart meets a backlog, whatever
the start-up time), and repeats; then it counts how many ``task.created`` records on the topic
carry an event id that was already there: events the outbox relay published twice.

``python -m bench.recovery restart`` kills the idle service, publishes one bounce, starts the service
again and prints the time from the new process's start to that bounce's ``task.created`` on the topic
(the consumer consumed it; the relay publishes within milliseconds), and to its first ``/readyz``.

Both print what they measured; nothing is asserted (``make bench`` measures, tests do not).
"""

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench import scenario
from seevee_deploy import processes
from seevee_deploy.broker_config import free_port
from seevee_deploy.localkafka import PARTITIONS, LocalKafka, create_topics
from seevee_deploy.service_plan import SERVICES, service_environment
from seevee_shared.bus.outbox_batches import HEADERS
from seevee_shared.cloudevents import decode, encode
from seevee_shared.events import Topic
from seevee_shared.testing import eventually, publish

SPEC = next(spec for spec in SERVICES if spec.name == "task-service")


async def until(holds: Callable[[Any], bool], arg: Any, timeout: float, interval: float = 0.05) -> None:
    async def check() -> bool:
        return holds(arg)

    await eventually(check, timeout=timeout, interval=interval)


class Replica:
    """One task-service process that can be killed and started again on the same store."""

    def __init__(self, work_dir: Path, bootstrap: str, extra_env: dict[str, str]) -> None:
        self.port = free_port()
        self.log_path = work_dir / "log" / "task-service.log"
        self.env = service_environment(
            SPEC,
            environ=os.environ,
            var_dir=work_dir,
            kafka_bootstrap=bootstrap,
            port=self.port,
            extra_env={"LOG_LEVEL": "WARNING", **extra_env},
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "--factory", SPEC.app_factory, "--port", str(self.port)]
        self.started_at = time.perf_counter()
        self.process = processes.spawn(command, log_path=self.log_path, env=self.env)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    async def ready(self, timeout: float = 60.0) -> float:
        """Seconds from the process's start to its first 200 on ``/readyz``."""
        deadline = time.perf_counter() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.perf_counter() < deadline:
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                        return time.perf_counter() - self.started_at
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.02)
        raise RuntimeError(f"task-service not ready; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """User and system CPU the process has used so far (Linux ``/proc``): the start's work,
        apart from the time a busy machine kept it waiting."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if self.process is not None:
            await processes.stop(self.process)


class Output:
    """Reads ``task.created`` from the beginning: every record's event id, and when each contact's came."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.ids: Counter[str] = Counter()
        self.first_seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Output":
        consumer = AIOKafkaConsumer(
            Topic.TASK_CREATED, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        self._task = asyncio.create_task(self._read(consumer))
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    now = time.perf_counter()
                    for record in records:
                        event = decode(record.value)
                        self.ids[event.id] += 1
                        self.first_seen.setdefault(event.subject, now)
        finally:
            await consumer.stop()

    async def quiet(self, expected: int, timeout: float) -> None:
        """Until ``expected`` distinct ids arrived and nothing more came for two seconds (or the
        output stopped growing for 30 s, or ``timeout``): the backlog is drained."""
        deadline = time.perf_counter() + timeout
        last, still_since = -1, time.perf_counter()
        while time.perf_counter() < deadline:
            total = sum(self.ids.values())
            if total != last:
                last, still_since = total, time.perf_counter()
            idle = time.perf_counter() - still_since
            if (len(self.ids) >= expected and idle > 2.0) or idle > 30.0:
                return
            await asyncio.sleep(0.2)

    def more_than(self, count: int) -> bool:
        return len(self.ids) > count

    def has(self, contact_id: str) -> bool:
        return contact_id in self.first_seen

    @property
    def distinct(self) -> int:
        return len(self.ids)

    @property
    def repeated(self) -> int:
        return sum(self.ids.values()) - len(self.ids)


async def feed(bootstrap: str, tag: str, per_second: float, stop: asyncio.Event) -> int:
    """Bounces of distinct contacts, in batches of 50 at about ``per_second``, until ``stop``."""
    at = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    started, sent = time.perf_counter(), 0
    try:
        while not stop.is_set():
            events = [scenario.message_bounced(c, None, at) for c in scenario.contacts(tag, 50, sent)]
            acks = [
                await producer.send(event.type, value=encode(event), key=event.key, headers=HEADERS)
                for event in events
            ]
            await asyncio.gather(*acks)
            sent += len(events)
            await asyncio.sleep(max(0.0, started + sent / per_second - time.perf_counter()))
    finally:
        await producer.stop()
    return sent


async def republish(
    bootstrap: str, work_dir: Path, kills: int, rate: float, downtime: float, env: dict[str, str]
) -> None:
    replica = Replica(work_dir, bootstrap, env)
    tag = scenario.unique_tag()
    async with Output(bootstrap) as output:
        replica.start()
        await replica.ready()
        stop = asyncio.Event()
        feeding = asyncio.create_task(feed(bootstrap, tag, rate, stop))
        for kill in range(kills):
            seen = output.distinct
            await until(output.more_than, seen, timeout=120)  # the new process works again
            await asyncio.sleep(random.uniform(0.3, 2.0))
            replica.kill()
            print(
                f"  kill {kill + 1}: {output.distinct} distinct, {output.repeated} repeated so far",
                flush=True,
            )
            replica.start()
        stop.set()
        events = await feeding
        await output.quiet(events, timeout=300)
        await replica.stop()
        print(
            f"republish: {kills} kills, {output.distinct}/{events} task.created, "
            f"{output.repeated} re-published ({output.repeated / kills:.1f} per kill)"
        )


async def restart(bootstrap: str, work_dir: Path, trials: int, env: dict[str, str]) -> None:
    replica = Replica(work_dir, bootstrap, env)
    tag = scenario.unique_tag()
    at = datetime.now(UTC)
    consumed: list[float] = []
    cpu: list[float] = []
    async with Output(bootstrap) as output:
        replica.start()
        await replica.ready()
        for trial in range(trials + 1):
            contact = scenario.contacts(tag, 1, trial)[0]
            if trial:  # trial 0 only warms the store and the group up
                replica.kill()
                await publish(bootstrap, [scenario.message_bounced(contact, None, at)])
                replica.start()
                ready = await replica.ready()
            else:
                await publish(bootstrap, [scenario.message_bounced(contact, None, at)])
                ready = 0.0
            await until(output.has, contact.contact_id, timeout=60, interval=0.01)
            took = output.first_seen[contact.contact_id] - replica.started_at
            if trial:
                consumed.append(took)
                cpu.append(replica.cpu_seconds())
                print(
                    f"  restart {trial}: ready after {ready:.2f} s, consumed again after {took:.2f} s, "
                    f"{cpu[-1]:.2f} s of CPU by then"
                )
            await asyncio.sleep(1.0)
        await replica.stop()
    consumed.sort()
    print(
        f"restart: {trials} kills, from process start to the first record consumed: "
        f"median {consumed[len(consumed) // 2]:.2f} s, max {consumed[-1]:.2f} s; "
        f"CPU the process used by then: median {sorted(cpu)[len(cpu) // 2]:.2f} s"
    )


async def main_async(args: argparse.Namespace) -> None:
    work_dir = Path(tempfile.mkdtemp(prefix="seevee-recovery-"))
    env = dict(item.split("=", 1) for item in args.env)
    try:
        async with LocalKafka(work_dir / "kafka") as kafka:
            await create_topics(kafka.bootstrap_servers, partitions=PARTITIONS)
            if args.command == "republish":
                await republish(kafka.bootstrap_servers, work_dir, args.kills, args.rate, args.downtime, env)
            else:
                await restart(kafka.bootstrap_servers, work_dir, args.kills, env)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__)
    parser.add_argument("command", choices=["republish", "restart"])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--rate", type=float, default=150.0, help="republish: bounces per second")
    parser.add_argument("--downtime", type=float, default=5.0, help="republish: seconds down per kill")
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the service")
    asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
