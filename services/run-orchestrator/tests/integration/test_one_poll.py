"""A poll applied in one go (its runs prefetched) leaves the runs as applying its events one by one.

Two workspaces on one store get the same runs and the same events: one workspace's events arrive as a
single poll through the consumer, the other's one at a time.
"""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from run_orchestrator.app import MIGRATIONS
from run_orchestrator.consumers import handlers
from run_orchestrator.models import RunRecord
from run_orchestrator.settings import RunSettings
from run_orchestrator.store import add_run, load_runs
from seevee_shared.bus import EventConsumer
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CloudEvent, decode
from seevee_shared.db import Database, utcnow
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent, bounce_id_for
from seevee_shared.testing import polled

JANE = "jane@acme.test"
RUNS = {"r1": JANE, "r2": "Jane@Acme.test", "r3": JANE, "r4": "bob@acme.test"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/runs.db"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    await database.upgrade(MIGRATIONS)
    yield database
    await database.dispose()


async def new_runs(db: Database, ws: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    async with db.transaction() as session:
        for name, recipient in RUNS.items():
            stored = await add_run(
                session,
                workspace_id=ws,
                contact_id=f"c-{name}",
                thread_id=f"t-{name}",
                recipient=recipient,
                sender_mailbox="me@seevee.test",
                delays=[0, 24],
                start_at=utcnow() - timedelta(minutes=1),
                now=utcnow(),
            )
            ids[name] = stored.record.run_id
    return ids


def sent(ws: str, run_id: str, step: int) -> CloudEvent:
    data = MessageSent(
        message_id=f"m-{run_id}-{step}",
        thread_id="t-1",
        contact_id="c-1",
        run_id=run_id,
        run_step=step,
        recipient=JANE,
        sender_mailbox="me@seevee.test",
        provider="sendgrid",
        smtp_message_id=f"<m-{run_id}-{step}@seevee.test>",
        sent_at=utcnow(),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id=ws, subject="c-1")


def bounced(ws: str, run_id: str, event: str, category: str, event_id: str | None = None) -> CloudEvent:
    bounce_id = bounce_id_for("sendgrid", f"{ws}-{event}", JANE)
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{run_id}-1",
        thread_id="t-1",
        contact_id="c-1",
        run_id=run_id,
        run_step=1,
        recipient=JANE,
        category=category,
        reason="userunknown" if category == "mailbox_unknown" else "mailboxfull",
        permanent=category == "mailbox_unknown",
        provider="sendgrid",
        provider_event_id=event,
        matched_by="message_id",
        bounced_at=utcnow(),
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id=ws, subject="c-1", event_id=event_id or bounce_id
    )


def complained(ws: str, run_id: str) -> CloudEvent:
    data = MessageComplained(
        message_id=f"m-{run_id}-1",
        thread_id="t-1",
        contact_id="c-1",
        run_id=run_id,
        recipient="bob@acme.test",
        provider="sendgrid",
        complained_at=utcnow(),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id=ws, subject="c-1")


def story(ws: str, ids: dict[str, str]) -> list[CloudEvent]:
    """Sends, a temporary bounce, a dead mailbox pausing its siblings, a repeat, a complaint."""
    return [
        sent(ws, ids["r1"], 1),
        sent(ws, ids["r3"], 1),
        bounced(ws, ids["r3"], "soft", "temporary"),
        bounced(ws, ids["r1"], "hard", "mailbox_unknown"),
        bounced(ws, ids["r2"], "late", "mailbox_unknown"),
        bounced(ws, ids["r1"], "hard", "mailbox_unknown", event_id=f"{ws}-again"),
        bounced(ws, "r-unknown", "stray", "temporary"),
        sent(ws, ids["r4"], 1),
        complained(ws, ids["r4"]),
        bounced(ws, ids["r4"], "after-stop", "temporary"),
    ]


async def runs_state(db: Database, ws: str, ids: dict[str, str]) -> dict[str, Any]:
    names = {run_id: name for name, run_id in ids.items()}
    async with db.transaction() as session:
        records = (
            await session.exec(
                select(RunRecord).where(RunRecord.workspace_id == ws).order_by(col(RunRecord.run_id))
            )
        ).all()
        runs = {
            names[stored.record.run_id]: (
                stored.record.status,
                stored.record.bounce_count,
                stored.record.pause_step,
                stored.record.pause_cause,
                stored.record.stop_cause,
                [(step.status, step.message_id is not None) for step in stored.steps],
            )
            for stored in await load_runs(session, records)
        }
        announced = sorted(
            (names[event.data["run_id"]], event.type, event.data["cause"])
            for event in (decode(row.payload) for row in await session.exec(select(OutboxRecord)))
            if event.workspaceid == ws
        )
    return {"runs": runs, "announced": announced}


async def test_one_poll_leaves_what_one_event_at_a_time_leaves(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    reactions = handlers(RunSettings())
    consumer = EventConsumer(group="run-orchestrator", db=db, handlers=reactions)

    async def careful_path(*_: Any) -> bool:
        raise AssertionError("the poll failed on its straight path")

    monkeypatch.setattr(consumer, "_apply_event", careful_path)
    together, single = await new_runs(db, "ws-poll"), await new_runs(db, "ws-single")
    events = story("ws-poll", together)
    await consumer.apply(polled(events[:2]))
    await consumer.apply(polled(events))
    for event in story("ws-single", single):
        async with db.transaction() as session:
            await reactions[event.type](session, event)

    state = await runs_state(db, "ws-poll", together)
    assert state == await runs_state(db, "ws-single", single)
    assert state["runs"]["r2"][0] == "paused"
    assert state["runs"]["r4"][0] == "stopped"
    assert [name for name, kind, _ in state["announced"] if kind == "run.paused"] == ["r1", "r2", "r3"]
