"""Figure 3: events/s each consumer applies from a pre-filled ``message.bounced`` topic.

The topic holds ``Sizes.consume_events`` bounces of contacts whose runs, threads and reveals exist.

The anchor is a raw aiokafka ``getmany`` loop doing one batched insert per poll into a SQLite store
of the same kind. Every store starts as a copy of a template whose runs, threads and reveals exist,
written once by the services' own code, so the copy costs nothing inside the clock.

A pass over the topic is one long run: the first share of the events is the warm-up (connections,
caches, the group join), and the rest is cut into equal slices, one repetition each; the figure is
the median slice rate. Each consumer reads the whole topic once.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from bench import scenario
from bench.environment import BenchEnv
from bench.feed import publish_events
from bench.sizes import Sizes
from bench.stats import pass_rate, ratio
from bench.stores import SqliteStores, Stores
from seevee_shared.bus import apply_poll
from seevee_shared.bus.consumer import EVENTS
from seevee_shared.db import Database
from seevee_shared.events import Topic
from seevee_shared.store import SqlRows
from seevee_shared.testing.polls import events_of

WARMUP_SHARE = 0.1
SETTLE_SECONDS = 1.0
"""The counter moves inside the poll's transaction: let its commit land before the service stops."""
Prefill = Callable[[AsyncSession, list[scenario.Contact], dict[str, str], datetime], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """One consuming service: how to build it on a store, its migrations, and what its store needs."""

    name: str
    build: Callable[[str, str, str], FastAPI]
    """(database_url, bootstrap, consumer group) -> the app."""
    migrations: Path
    prefill: Prefill | None = None


def _orchestrator() -> Consumer:
    from run_orchestrator.app import MIGRATIONS, create_app
    from run_orchestrator.settings import RunSettings

    def build(url: str, bootstrap: str, group: str) -> FastAPI:
        return create_app(_settings(RunSettings, url, bootstrap, group))

    return Consumer("run-orchestrator", build, MIGRATIONS)


def _tasks() -> Consumer:
    from task_service.app import MIGRATIONS_DIR, create_app
    from task_service.settings import TaskSettings

    def build(url: str, bootstrap: str, group: str) -> FastAPI:
        return create_app(_settings(TaskSettings, url, bootstrap, group))

    return Consumer("task-service", build, MIGRATIONS_DIR)


def _threads() -> Consumer:
    from thread_service.app import MIGRATIONS_DIR, create_app
    from thread_service.handlers import handlers
    from thread_service.settings import ThreadSettings

    async def prefill(
        session: AsyncSession, people: list[scenario.Contact], runs: dict[str, str], at: datetime
    ) -> None:
        sends = [scenario.message_sent(contact, runs.get(contact.contact_id), at) for contact in people]
        registry = handlers()
        rows = SqlRows(await session.connection())
        await apply_poll(registry, rows, "bench-prefill", events_of(registry, sends))

    def build(url: str, bootstrap: str, group: str) -> FastAPI:
        return create_app(_settings(ThreadSettings, url, bootstrap, group))

    return Consumer("thread-service", build, MIGRATIONS_DIR, prefill)


def _refunds() -> Consumer:
    from refund_service.app import MIGRATIONS_DIR, create_app
    from refund_service.handlers import handlers
    from refund_service.settings import RefundSettings

    def settings(url: str, bootstrap: str, group: str) -> RefundSettings:
        built: RefundSettings = _settings(RefundSettings, url, bootstrap, group, dns_check_enabled=False)
        return built

    async def prefill(
        session: AsyncSession, people: list[scenario.Contact], _runs: dict[str, str], at: datetime
    ) -> None:
        reveals = [scenario.contact_revealed(contact, at) for contact in people]
        registry = handlers(settings("sqlite://", "", ""))
        rows = SqlRows(await session.connection())
        await apply_poll(registry, rows, "bench-prefill", events_of(registry, reveals))

    def build(url: str, bootstrap: str, group: str) -> FastAPI:
        return create_app(settings(url, bootstrap, group))

    return Consumer("refund-service", build, MIGRATIONS_DIR, prefill)


def _settings(kind: Any, url: str, bootstrap: str, group: str, **extra: Any) -> Any:
    """In-process services log warnings only: the table must stay readable."""
    return kind(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        consumer_group=group,
        log_level="WARNING",
        **extra,
    )


async def _runs_template(url: str, people: list[scenario.Contact], at: datetime) -> dict[str, str]:
    """The orchestrator's template: one active two-step run per contact, created by its own store code."""
    from run_orchestrator import domain
    from run_orchestrator.app import MIGRATIONS
    from run_orchestrator.store import RunStore

    db = await _migrated(url, MIGRATIONS)
    runs: dict[str, str] = {}
    try:
        async with db.transaction() as session:
            store = RunStore(SqlRows(await session.connection()))
            for contact in people:
                stored = domain.new_run(
                    workspace_id=scenario.WORKSPACE,
                    contact_id=contact.contact_id,
                    thread_id=contact.thread_id,
                    recipient=contact.recipient,
                    sender_mailbox="sam@seevee.test",
                    delays=[24.0, 72.0],
                    start_at=None,
                    now=at,
                )
                store.create(stored)
                runs[contact.contact_id] = stored.record.run_id
            await store.write()
    finally:
        await db.dispose()
    return runs


async def _migrated(url: str, migrations: Path) -> Database:
    db = Database(url)
    await db.upgrade(migrations)
    return db


async def _template(
    consumer: Consumer, url: str, people: list[scenario.Contact], runs: dict[str, str]
) -> None:
    db = await _migrated(url, consumer.migrations)
    try:
        if consumer.prefill is not None:
            async with db.transaction() as session:
                await consumer.prefill(session, people, runs, scenario.earlier(minutes=30))
    finally:
        await db.dispose()


def _count(group: str, outcome: str) -> float:
    """The in-process consumer's own counter (read from its metric alone, not the whole registry)."""
    wanted = {"group": group, "topic": Topic.MESSAGE_BOUNCED, "outcome": outcome}
    for metric in EVENTS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels == wanted:
                return sample.value
    return 0.0


def _applied(group: str) -> float:
    """Applied events; a dead-lettered one means the scenario is wrong, and the figure would be too."""
    dead = _count(group, "dead_lettered")
    if dead:
        raise RuntimeError(f"{group} dead-lettered {dead:.0f} bench events; see its log")
    return _count(group, "applied")


async def _marks(
    progress: Callable[[], float], thresholds: list[int], timeout: float
) -> list[tuple[int, float]]:
    """The moment each threshold of applied events is crossed (polled every 20 ms)."""
    marks: list[tuple[int, float]] = []
    deadline = time.perf_counter() + timeout
    for threshold in thresholds:
        while (done := progress()) < threshold:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"applied {done:.0f} of {thresholds[-1]} events in {timeout:.0f}s")
            await asyncio.sleep(0.02)
        marks.append((int(progress()), time.perf_counter()))
    return marks


def _thresholds(total: int, slices: int) -> list[int]:
    warm = int(total * WARMUP_SHARE)
    step = (total - warm) / slices
    return [warm + round(step * k) for k in range(slices + 1)]


async def _service_pass(
    consumer: Consumer, env: BenchEnv, stores: Stores, template: str, sizes: Sizes, run: int
) -> list[tuple[int, float]]:
    store = await stores.copy(template, f"{consumer.name}-run{run}")
    group = f"bench-{consumer.name}-{run}-{scenario.unique_tag()}"
    app = consumer.build(store, env.bootstrap, group)
    async with app.router.lifespan_context(app):
        marks = await _marks(
            lambda: _applied(group), _thresholds(sizes.consume_events, sizes.repetitions), timeout=600
        )
        await asyncio.sleep(SETTLE_SECONDS)
    return marks


_ANCHOR_TABLE = Table(
    "applied_event",
    MetaData(),
    Column("event_id", String(200), primary_key=True),
    Column("contact_id", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
)


async def _anchor_pass(env: BenchEnv, stores: Stores, sizes: Sizes, run: int) -> list[tuple[int, float]]:
    """Raw aiokafka: poll, decode, one multi-row insert per poll in one transaction, commit offsets."""
    db = Database(await stores.empty(f"anchor-{run}"))
    async with db.engine.begin() as connection:
        await connection.run_sync(_ANCHOR_TABLE.metadata.create_all)
    consumer = AIOKafkaConsumer(
        Topic.MESSAGE_BOUNCED,
        bootstrap_servers=env.bootstrap,
        group_id=f"bench-anchor-{run}-{scenario.unique_tag()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    applied = 0

    async def loop() -> None:
        nonlocal applied
        while applied < sizes.consume_events:
            polled = await consumer.getmany(timeout_ms=500, max_records=500)
            rows = []
            for records in polled.values():
                for record in records:
                    event = orjson.loads(record.value)
                    rows.append(
                        {"event_id": event["id"], "contact_id": event["subject"], "payload": record.value}
                    )
            if not rows:
                continue
            async with db.transaction() as session:
                await session.execute(insert(_ANCHOR_TABLE), rows)
            await consumer.commit()
            applied += len(rows)

    def progress() -> float:
        if task.done() and task.exception() is not None:
            raise RuntimeError("the anchor's poll loop failed") from task.exception()
        return float(applied)

    await consumer.start()
    task = asyncio.create_task(loop())
    try:
        thresholds = _thresholds(sizes.consume_events, sizes.repetitions)
        return await _marks(progress, thresholds, timeout=600)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await db.dispose()


def consumers() -> list[Consumer]:
    return [_orchestrator(), _tasks(), _threads(), _refunds()]


CONSUMER_NAMES = ("run-orchestrator", "task-service", "thread-service", "refund-service")


async def measure(env: BenchEnv, sizes: Sizes, only: Sequence[str] = ()) -> dict[str, Any]:
    """Every consumer's figure on SQLite, or only those named (``--only consume-task-service``)."""
    return await measure_on(env, SqliteStores(env.folder("consume")), sizes, only)


async def measure_postgres(env: BenchEnv, sizes: Sizes, only: Sequence[str] = ()) -> dict[str, Any]:
    """The same figure with every store, the anchor's too, a database on one PostgreSQL server."""
    figures = await measure_on(env, env.postgres_stores("consume"), sizes, only)
    return {f"{key}_postgres": value for key, value in figures.items()}


async def measure_on(env: BenchEnv, stores: Stores, sizes: Sizes, only: Sequence[str]) -> dict[str, Any]:
    people = scenario.contacts(scenario.unique_tag(), sizes.consume_events)
    at = scenario.earlier(minutes=20)
    templates = {"run-orchestrator": await stores.empty("run-orchestrator-template")}
    runs = await _runs_template(templates["run-orchestrator"], people, at)
    chosen = [consumer for consumer in consumers() if not only or consumer.name in only]
    for consumer in chosen:
        if consumer.name != "run-orchestrator":
            templates[consumer.name] = await stores.empty(f"{consumer.name}-template")
            await _template(consumer, templates[consumer.name], people, runs)
    await publish_events(env.bootstrap, [scenario.message_bounced(c, runs[c.contact_id], at) for c in people])
    ours: dict[str, float] = {}
    anchors: dict[str, float] = {}
    for number, consumer in enumerate(chosen):
        ours[consumer.name] = pass_rate(
            await _service_pass(consumer, env, stores, templates[consumer.name], sizes, number)
        )
        anchors[consumer.name] = pass_rate(await _anchor_pass(env, stores, sizes, number))
    return {
        "consume_events_per_s": ours,
        "consume_anchor_events_per_s": anchors,
        "consume_ratio": {name: ratio(ours[name], anchors[name]) for name in ours},
    }
