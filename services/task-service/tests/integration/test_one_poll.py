"""A poll applied in one go (its rows prefetched) leaves the store as applying its events one by one.

Bounces of one contact in the same poll must find the task the first of them opened; a bounce already
on a task must stay put, whichever event id brings it again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from seevee_shared.bus import OutboxRecord
from seevee_shared.bus.consumer import EventConsumer
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import MessageBounced, bounce_id_for
from seevee_shared.testing import polled
from task_service.app import MIGRATIONS_DIR
from task_service.consumers import HANDLERS
from task_service.models import Task, TaskBounce

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def bounced(
    provider_event: str, contact_id: str, category: str, minutes: int, event_id: str | None = None
) -> CloudEvent:
    bounce_id = bounce_id_for("postmark", provider_event, f"{contact_id}@acme.example")
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{provider_event}",
        thread_id=f"t-{provider_event}",
        contact_id=contact_id,
        recipient=f"{contact_id}@acme.example",
        category=category,
        reason="userunknown" if category == "mailbox_unknown" else "mailboxfull",
        permanent=category == "mailbox_unknown",
        provider="postmark",
        provider_event_id=provider_event,
        matched_by="message_id",
        bounced_at=T0 + timedelta(minutes=minutes),
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id="ws-1", subject=contact_id, event_id=event_id or bounce_id
    )


async def state(db: Database) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
    async with db.transaction() as session:
        tasks = [
            (t.task_id, t.contact_id, t.open_contact_id, t.category, t.reason, t.lead_bounce_id, t.due_at)
            for t in await session.exec(select(Task).order_by(Task.task_id))
        ]
        bounces = [
            (b.bounce_id, b.task_id, b.category)
            for b in await session.exec(select(TaskBounce).order_by(TaskBounce.bounce_id))
        ]
        outbox = sorted(row.event_id for row in await session.exec(select(OutboxRecord)))
    return tasks, bounces, outbox


async def run(
    path: Path, before: list[CloudEvent], polls: list[list[CloudEvent]], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Apply the polls; none may need the careful path, or the prefetch would go untested."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade(MIGRATIONS_DIR)
    consumer = EventConsumer(group="task-service", db=db, handlers=HANDLERS)

    async def careful_path(*_: Any) -> bool:
        raise AssertionError("the poll failed on its straight path")

    monkeypatch.setattr(consumer, "_apply_event", careful_path)
    try:
        await consumer.apply(polled(before))
        for poll in polls:
            await consumer.apply(polled(poll))
        return await state(db)
    finally:
        await db.dispose()


async def test_one_poll_leaves_what_one_event_at_a_time_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = bounced("e-0", "c-3", "temporary", 0)
    before = [earlier]
    poll = [
        bounced("e-1", "c-1", "temporary", 1),
        bounced("e-2", "c-1", "mailbox_unknown", 2),
        bounced("e-3", "c-2", "spam_policy", 3),
        bounced("e-2", "c-1", "mailbox_unknown", 2),
        bounced("e-4", "c-3", "mailbox_unknown", 4),
        bounced("e-0", "c-3", "temporary", 0, event_id="another-delivery-of-e-0"),
        bounced("e-5", "c-1", "temporary", 5),
    ]
    together = await run(tmp_path / "together.db", before, [poll], monkeypatch)
    one_by_one = await run(tmp_path / "one-by-one.db", before, [[event] for event in poll], monkeypatch)
    assert together == one_by_one
    tasks, bounces, outbox = together
    assert [task[1] for task in tasks].count("c-1") == 1
    assert len(bounces) == 6
    assert len(outbox) == 3
