"""Scheduler and handlers on real stores (SQLite, PostgreSQL) without the broker: claims, stop, restarts."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from run_orchestrator import domain
from run_orchestrator.app import MIGRATIONS
from run_orchestrator.domain import stop
from run_orchestrator.handlers import handlers
from run_orchestrator.scheduler import emit_due_steps, restart_soft_bounced
from run_orchestrator.settings import RunSettings
from run_orchestrator.store import RunStore
from seevee_shared.bus import EventConsumer
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CloudEvent, decode
from seevee_shared.db import Database, utcnow
from seevee_shared.events import MessageBounced, MessageSent
from seevee_shared.store import SqlRows
from seevee_shared.testing import polled

WS = "ws-sched"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated store: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/runs.db"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    await db.upgrade(MIGRATIONS)
    await db.dispose()
    yield url


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Database]:
    database = Database(store_url)
    yield database
    await database.dispose()


async def consume(
    db: Database, event: CloudEvent, *, max_bounces: int, auto_restart_hours: float | None
) -> None:
    """Apply one event as the consumer does, with this bounce policy."""
    settings = RunSettings(run_max_bounces=max_bounces, soft_bounce_auto_restart_hours=auto_restart_hours)
    await EventConsumer(group="run-orchestrator", db=db, handlers=handlers(settings)).apply(polled([event]))


async def stored_run(db: Database, run_id: str) -> domain.StoredRun | None:
    async with db.transaction() as session:
        return await RunStore(SqlRows(await session.connection())).run(WS, run_id)


async def new_run(db: Database, delays: list[float], recipient: str = "ada@acme.test") -> str:
    async with db.transaction() as session:
        store = RunStore(SqlRows(await session.connection()))
        stored = domain.new_run(
            workspace_id=WS,
            contact_id="c-1",
            thread_id="t-1",
            recipient=recipient,
            sender_mailbox="me@seevee.test",
            delays=delays,
            start_at=utcnow() - timedelta(minutes=1),
            now=utcnow(),
        )
        store.create(stored)
        await store.write()
        return stored.record.run_id


async def step_due_events(db: Database) -> list[CloudEvent]:
    async with db.transaction() as session:
        rows = (await session.exec(select(OutboxRecord).where(OutboxRecord.topic == "run.step_due"))).all()
        return [decode(row.payload) for row in rows]


def sent(run_id: str, step: int, message_id: str) -> CloudEvent:
    data = MessageSent(
        message_id=message_id,
        thread_id="t-1",
        contact_id="c-1",
        run_id=run_id,
        run_step=step,
        recipient="ada@acme.test",
        sender_mailbox="me@seevee.test",
        provider="sendgrid",
        smtp_message_id=f"<{message_id}@seevee.test>",
        sent_at=utcnow(),
    )
    return CloudEvent.build(data, source="/seevee/sender", workspace_id=WS, subject="c-1")


def bounced(run_id: str, step: int, bounce_id: str, category: str = "temporary") -> CloudEvent:
    data = MessageBounced.model_validate(
        {
            "bounce_id": bounce_id,
            "message_id": f"m-{step}",
            "thread_id": "t-1",
            "contact_id": "c-1",
            "run_id": run_id,
            "run_step": step,
            "recipient": "ada@acme.test",
            "category": category,
            "reason": "mailboxfull",
            "permanent": False,
            "provider": "sendgrid",
            "provider_event_id": bounce_id,
            "matched_by": "message_id",
            "bounced_at": datetime.now(UTC).isoformat(),
        }
    )
    return CloudEvent.build(data, source="/seevee/bounce-ingest", workspace_id=WS, subject="c-1")


async def test_two_schedulers_on_one_store_emit_each_due_step_once(db: Database, store_url: str) -> None:
    run_ids = [await new_run(db, [0, 24]) for _ in range(30)]
    replica = Database(store_url)
    try:
        claims = await asyncio.gather(*(emit_due_steps(d, utcnow(), 7) for d in [db, replica] * 3))
    finally:
        await replica.dispose()
    events = await step_due_events(db)
    assert sum(claims) == 30
    assert sorted(e.data["run_id"] for e in events) == sorted(run_ids)
    assert {e.data["step"] for e in events} == {1}
    assert await emit_due_steps(db, utcnow() + timedelta(days=365)) == 0


async def test_a_stopped_run_is_never_emitted(db: Database) -> None:
    run_id = await new_run(db, [0])
    async with db.transaction() as session:
        store = RunStore(SqlRows(await session.connection()))
        stored = await store.run(WS, run_id)
        assert stored is not None
        store.save(stored, stop(stored.domain(), "user", utcnow()), utcnow())
        await store.write()
    assert await emit_due_steps(db, utcnow() + timedelta(days=365)) == 0
    assert await step_due_events(db) == []


async def test_a_temporary_bounce_restarts_the_run_once(db: Database) -> None:
    run_id = await new_run(db, [0, 24])
    await emit_due_steps(db, utcnow())
    await consume(db, sent(run_id, 1, "m-1"), max_bounces=5, auto_restart_hours=0.5)
    await consume(db, bounced(run_id, 1, "b-1"), max_bounces=5, auto_restart_hours=0.5)
    later = utcnow() + timedelta(hours=1)
    assert await restart_soft_bounced(db, utcnow() - timedelta(hours=1)) == 0
    assert await restart_soft_bounced(db, later) == 1
    assert await emit_due_steps(db, later) == 1
    assert [e.data["step"] for e in await step_due_events(db)] == [1, 1]

    await consume(db, bounced(run_id, 1, "b-2"), max_bounces=5, auto_restart_hours=0.5)
    assert await restart_soft_bounced(db, utcnow() + timedelta(days=30)) == 0
    stored = await stored_run(db, run_id)
    assert stored is not None
    assert (stored.record.status, stored.record.bounce_count, stored.record.auto_restarts) == (
        "paused",
        2,
        1,
    )


async def test_the_third_bounce_stops_the_run_by_policy(db: Database) -> None:
    run_id = await new_run(db, [0, 0, 0])
    for number in (1, 2, 3):
        await consume(db, bounced(run_id, 1, f"b-{number}"), max_bounces=3, auto_restart_hours=None)
    stored = await stored_run(db, run_id)
    assert stored is not None
    assert (stored.record.status, stored.record.stop_cause, stored.record.bounce_count) == (
        "stopped",
        "policy",
        3,
    )
    async with db.transaction() as session:
        rows = (await session.exec(select(OutboxRecord).where(OutboxRecord.topic == "run.stopped"))).all()
    assert [(e.data["cause"], e.data["bounce_id"]) for e in map(decode, (r.payload for r in rows))] == [
        ("policy", "b-3")
    ]
    assert await emit_due_steps(db, utcnow() + timedelta(days=365)) == 0


async def test_a_bounce_of_another_workspace_or_unknown_run_changes_nothing(db: Database) -> None:
    run_id = await new_run(db, [0])
    foreign = bounced(run_id, 1, "b-x").model_copy(update={"workspaceid": "ws-other"})
    await consume(db, foreign, max_bounces=3, auto_restart_hours=None)
    await consume(db, bounced("no-such-run", 1, "b-y"), max_bounces=3, auto_restart_hours=None)
    stored = await stored_run(db, run_id)
    assert stored is not None
    assert (stored.record.status, stored.record.bounce_count) == ("active", 0)
