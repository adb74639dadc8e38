"""Lookups of the bounce handler, served from a poll's prefetch when there is one, else by query.

A poll's prefetch loads, in one query per table, the bounce rows and open tasks its events will ask
for; the handler then finds them (or their absence) in ``poll_lookups`` and records what it writes
there, so a later event of the same poll sees it without a query or a flush.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.consumer import poll_lookups
from seevee_shared.cloudevents import CloudEvent
from task_service.models import Task, TaskBounce


def _bounce_key(workspace_id: str, bounce_id: str) -> Hashable:
    return ("task_bounce", workspace_id, bounce_id)


def _open_key(workspace_id: str, contact_id: str) -> Hashable:
    return ("open_task", workspace_id, contact_id)


async def prefetch(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """Load the bounce rows and open tasks of a poll's ``message.bounced`` events, one query each."""
    lookups = poll_lookups(session)
    if lookups is None:
        return
    wanted: dict[str, tuple[set[str], set[str]]] = {}
    for event in events:
        bounce_id, contact_id = event.data.get("bounce_id"), event.data.get("contact_id")
        if isinstance(bounce_id, str) and isinstance(contact_id, str):
            bounces, contacts = wanted.setdefault(event.workspaceid, (set(), set()))
            bounces.add(bounce_id)
            contacts.add(contact_id)
    for workspace_id, (bounces, contacts) in wanted.items():
        for bounce_id in bounces:
            lookups[_bounce_key(workspace_id, bounce_id)] = None
        for contact_id in contacts:
            lookups[_open_key(workspace_id, contact_id)] = None
        seen = await session.exec(
            select(TaskBounce).where(
                TaskBounce.workspace_id == workspace_id, col(TaskBounce.bounce_id).in_(bounces)
            )
        )
        for row in seen:
            lookups[_bounce_key(workspace_id, row.bounce_id)] = row
        open_tasks = await session.exec(
            select(Task).where(Task.workspace_id == workspace_id, col(Task.open_contact_id).in_(contacts))
        )
        for task in open_tasks:
            if task.open_contact_id is not None:
                lookups[_open_key(workspace_id, task.open_contact_id)] = task


async def seen_bounce(session: AsyncSession, workspace_id: str, bounce_id: str) -> TaskBounce | None:
    lookups = poll_lookups(session)
    key = _bounce_key(workspace_id, bounce_id)
    if lookups is not None and key in lookups:
        found: TaskBounce | None = lookups[key]
        return found
    return await session.get(TaskBounce, (workspace_id, bounce_id))


async def open_task(session: AsyncSession, workspace_id: str, contact_id: str) -> Task | None:
    lookups = poll_lookups(session)
    key = _open_key(workspace_id, contact_id)
    if lookups is not None and key in lookups:
        found: Task | None = lookups[key]
        return found
    query = select(Task).where(Task.workspace_id == workspace_id, Task.open_contact_id == contact_id)
    return (await session.exec(query)).first()


def is_prefetched(session: AsyncSession) -> bool:
    """On a prefetched poll a failure rolls the whole poll back and it is retried event by event."""
    return poll_lookups(session) is not None


def add_bounce(session: AsyncSession, row: TaskBounce) -> None:
    session.add(row)
    lookups = poll_lookups(session)
    if lookups is not None:
        lookups[_bounce_key(row.workspace_id, row.bounce_id)] = row


def add_open_task(session: AsyncSession, task: Task) -> None:
    session.add(task)
    lookups = poll_lookups(session)
    if lookups is not None and task.open_contact_id is not None:
        lookups[_open_key(task.workspace_id, task.open_contact_id)] = task
