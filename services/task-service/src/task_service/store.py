"""The task-service's store: the only module that runs SQL (the consumer's polls and the API's reads).

A poll's ``preload`` loads, in one query per table and workspace, the bounces already on a task and
the open tasks of the poll's contacts; the handler's lookups are then answered from memory, and what
it writes (``open``, ``attach``, ``changed``) is kept here too, so a later bounce of the same poll finds
the task an earlier one opened. The base ``Store`` writes it all in bulk at the end of the poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from seevee_shared.bus import Event, of_type
from seevee_shared.events import MessageBounced
from seevee_shared.store import Entity, In, Rows, Store, table_of
from task_service import domain
from task_service.models import Task, TaskBounce

TASKS = Entity(Task, domain.Task)
BOUNCES = Entity(TaskBounce, domain.TaskBounce)
_TASKS = table_of(Task)
_BOUNCES = table_of(TaskBounce)

_Key = tuple[str, str]


class TaskStore(Store):
    entities = (TASKS, BOUNCES)

    def __init__(self, rows: Rows) -> None:
        super().__init__(rows)
        self._seen: dict[_Key, domain.TaskBounce | None] = {}
        self._open: dict[_Key, domain.Task | None] = {}

    async def preload(self, events: Sequence[Event[Any]]) -> None:
        wanted: dict[str, tuple[set[str], set[str]]] = {}
        for event in of_type(events, MessageBounced):
            bounces, contacts = wanted.setdefault(event.meta.workspace_id, (set(), set()))
            bounces.add(event.payload.bounce_id)
            contacts.add(event.payload.contact_id)
        for workspace_id, (bounces, contacts) in wanted.items():
            await self._load_seen(workspace_id, bounces)
            await self._load_open(workspace_id, contacts)

    async def _load_seen(self, workspace_id: str, bounce_ids: set[str]) -> None:
        for bounce_id in bounce_ids:
            self._seen.setdefault((workspace_id, bounce_id), None)
        for row in await self.load(BOUNCES, workspace_id=workspace_id, bounce_id=In(bounce_ids)):
            self._seen[(workspace_id, row.bounce_id)] = row

    async def _load_open(self, workspace_id: str, contact_ids: set[str]) -> None:
        for contact_id in contact_ids:
            self._open.setdefault((workspace_id, contact_id), None)
        for task in await self.load(TASKS, workspace_id=workspace_id, open_contact_id=In(contact_ids)):
            if task.open_contact_id is not None:
                self._open[(workspace_id, task.open_contact_id)] = task

    # What the handler asks and tells.

    async def seen_bounce(self, workspace_id: str, bounce_id: str) -> domain.TaskBounce | None:
        """The bounce, if it is already on a task of the workspace."""
        if (workspace_id, bounce_id) not in self._seen:
            await self._load_seen(workspace_id, {bounce_id})
        return self._seen[(workspace_id, bounce_id)]

    async def open_task(self, workspace_id: str, contact_id: str) -> domain.Task | None:
        """The contact's open task, if it has one."""
        if (workspace_id, contact_id) not in self._open:
            await self._load_open(workspace_id, {contact_id})
        return self._open[(workspace_id, contact_id)]

    def open(self, task: domain.Task) -> None:
        """A new open task (the database refuses a second open one for the contact)."""
        self.add(task)
        self._open[(task.workspace_id, task.contact_id)] = task

    def attach(self, bounce: domain.TaskBounce) -> None:
        self.add(bounce)
        self._seen[(bounce.workspace_id, bounce.bounce_id)] = bounce

    def closed(self, task: domain.Task) -> None:
        self.changed(task)
        self._open[(task.workspace_id, task.contact_id)] = None

    # What the API reads (SQL only).

    async def task(self, workspace_id: str, task_id: str) -> domain.Task | None:
        """Another workspace's task is as absent as a missing one."""
        found = await self.load(TASKS, task_id=task_id, workspace_id=workspace_id)
        return found[0] if found else None

    async def tasks(
        self,
        workspace_id: str,
        *,
        limit: int,
        status: str | None = None,
        contact_id: str | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[domain.Task]:
        """Newest first, from after the (created_at, task_id) position of the previous page."""
        query = select(_TASKS).where(_TASKS.c.workspace_id == workspace_id)
        if status is not None:
            query = query.where(_TASKS.c.status == status)
        if contact_id is not None:
            query = query.where(_TASKS.c.contact_id == contact_id)
        if after is not None:
            created_at, task_id = after
            query = query.where(
                or_(
                    _TASKS.c.created_at < created_at,
                    and_(_TASKS.c.created_at == created_at, _TASKS.c.task_id < task_id),
                )
            )
        query = query.order_by(_TASKS.c.created_at.desc(), _TASKS.c.task_id.desc()).limit(limit)
        result = await self.connection.execute(query)
        return [domain.Task(**row) for row in result.mappings()]

    async def bounces_of(self, tasks: Sequence[domain.Task]) -> dict[str, list[domain.TaskBounce]]:
        """Each task's bounces, oldest first."""
        found: dict[str, list[domain.TaskBounce]] = {task.task_id: [] for task in tasks}
        if not tasks:
            return found
        query = (
            select(_BOUNCES)
            .where(
                _BOUNCES.c.workspace_id == tasks[0].workspace_id,
                _BOUNCES.c.task_id.in_(list(found)),
            )
            .order_by(_BOUNCES.c.bounced_at, _BOUNCES.c.bounce_id)
        )
        for row in (await self.connection.execute(query)).mappings():
            found[row["task_id"]].append(domain.TaskBounce(**row))
        return found
