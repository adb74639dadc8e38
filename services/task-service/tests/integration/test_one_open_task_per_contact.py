"""The store itself keeps one open task per contact, whichever replica handles the bounce.

Run against a real SQLite file and, where it is installed, a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from seevee_shared.bus import Event, EventConsumer, Handlers
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import MessageBounced, bounce_id_for
from seevee_shared.testing import polled
from task_service import domain
from task_service.app import MIGRATIONS_DIR
from task_service.handlers import handlers
from task_service.models import Task, TaskBounce
from task_service.store import TaskStore

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def bounced(provider_event: str, contact_id: str = "c-1") -> CloudEvent:
    bounce_id = bounce_id_for("postmark", provider_event, "jane@acme.example")
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{provider_event}",
        thread_id="t-1",
        contact_id=contact_id,
        recipient="jane@acme.example",
        category="mailbox_unknown",
        reason="userunknown",
        permanent=True,
        provider="postmark",
        provider_event_id=provider_event,
        matched_by="message_id",
        bounced_at=T0,
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id="ws-1", subject=contact_id, event_id=bounce_id
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'tasks.db'}"
    db = Database(url)
    await db.upgrade(MIGRATIONS_DIR)
    await db.dispose()
    yield url


def open_task(task_id: str, contact_id: str, *, is_open: bool = True) -> Task:
    return Task(
        task_id=task_id,
        workspace_id="ws-1",
        contact_id=contact_id,
        open_contact_id=contact_id if is_open else None,
        thread_id="t-1",
        kind="bounce_follow_up",
        category="temporary",
        reason="mailboxfull",
        title="t",
        recommended_action="a",
        status="open" if is_open else "done",
        due_at=T0,
        lead_bounce_id=f"b-{task_id}",
        lead_bounced_at=T0,
        created_at=T0,
        updated_at=T0,
    )


async def tasks_and_bounces(db: Database) -> tuple[list[Task], list[TaskBounce]]:
    async with db.transaction() as session:
        tasks = list((await session.exec(select(Task))).all())
        bounces = list((await session.exec(select(TaskBounce))).all())
    return tasks, bounces


async def test_the_database_refuses_a_second_open_task_for_a_contact(store: str) -> None:
    db = Database(store)
    try:
        async with db.transaction() as session:
            session.add(open_task("done-1", "c-1", is_open=False))
            session.add(open_task("done-2", "c-1", is_open=False))
            session.add(open_task("open-1", "c-1"))
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                session.add(open_task("open-2", "c-1"))
        tasks, _ = await tasks_and_bounces(db)
        assert sorted(task.task_id for task in tasks) == ["done-1", "done-2", "open-1"]
    finally:
        await db.dispose()


class StalePreload(TaskStore):
    """A store whose first preload misses an open task that another replica has just committed."""

    preloads: ClassVar[list[int]] = []

    async def preload(self, events: Sequence[Event[Any]]) -> None:
        self.preloads.append(len(events))
        await super().preload(events)
        if len(self.preloads) == 1:
            self._open = dict.fromkeys(self._open)


async def test_a_replica_that_loses_the_race_attaches_to_the_winners_task(store: str) -> None:
    """The lookup saw no open task, but another replica committed one before this insert: the
    database refuses the second open task and the event, applied again, attaches to the winner's."""
    db = Database(store)
    try:
        async with db.transaction() as session:
            session.add(open_task("winner", "c-1"))
        StalePreload.preloads.clear()
        registry = Handlers(store=StalePreload, topics=handlers().topics)
        consumer = EventConsumer(group="task-service", db=db, handlers=registry, backoff_seconds=0.01)
        await consumer.apply(polled([bounced("ev-late")]))

        tasks, bounces = await tasks_and_bounces(db)
        assert [task.task_id for task in tasks] == ["winner"]
        assert [(bounce.task_id, bounce.message_id) for bounce in bounces] == [("winner", "m-ev-late")]
        assert len(StalePreload.preloads) == 2
    finally:
        await db.dispose()


async def test_two_replicas_on_one_store_open_one_task(store: str) -> None:
    replicas = [Database(store), Database(store)]
    consumers = [
        EventConsumer(group="task-service", db=db, handlers=handlers(), backoff_seconds=0.01)
        for db in replicas
    ]
    events = [bounced(f"ev-{index}") for index in range(6)]

    try:
        await asyncio.gather(*(consumers[i % 2].apply(polled([event])) for i, event in enumerate(events)))
        tasks, bounces = await tasks_and_bounces(replicas[0])
        assert len(tasks) == 1
        assert {bounce.task_id for bounce in bounces} == {tasks[0].task_id}
        assert len(bounces) == len(events)
        assert tasks[0].task_id in {domain.task_id_for("ws-1", event.id) for event in events}
        assert uuid.UUID(tasks[0].task_id).version == 5
    finally:
        for db in replicas:
            await db.dispose()
