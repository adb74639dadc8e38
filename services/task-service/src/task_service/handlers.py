"""Reaction to `message.bounced`: open the contact's follow-up task, or attach the bounce to it."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus import outbox_add
from seevee_shared.bus.consumer import PrefetchingHandler
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced, TaskCreated
from seevee_shared.logging import get_logger
from task_service import domain, store
from task_service.models import Task, TaskBounce

SOURCE = "/seevee/task-service"
_IDS = uuid.UUID("0b7e3c52-9f4a-5d1e-8c36-5a2f1e7d9b40")

log = get_logger(__name__)


def task_id_for(workspace_id: str, bounce_id: str) -> str:
    """The task a bounce opens has an id derived from it, so replaying that bounce can't open another."""
    return str(uuid.uuid5(_IDS, f"task\x1f{workspace_id}\x1f{bounce_id}"))


def _created_event_id(task_id: str) -> str:
    return str(uuid.uuid5(_IDS, f"task.created\x1f{task_id}"))


async def _on_message_bounced(session: AsyncSession, event: CloudEvent) -> None:
    bounce = event.data_as(MessageBounced)
    workspace_id = event.workspaceid
    seen = await store.seen_bounce(session, workspace_id, bounce.bounce_id)
    open_task = await store.open_task(session, workspace_id, bounce.contact_id)
    outcome = domain.on_bounce(already_seen=seen is not None, has_open_task=open_task is not None)
    if outcome is domain.BounceOutcome.ALREADY_SEEN:
        log.debug("bounce already on a task", task_id=seen.task_id if seen else None)
        return
    if open_task is None:
        opened = await _open(session, workspace_id, bounce)
        if opened is not None:
            log.debug("task opened", task_id=opened.task_id, category=opened.category)
            return
        open_task = await store.open_task(session, workspace_id, bounce.contact_id)
        if open_task is None:
            raise RuntimeError("a task was opened concurrently but cannot be read back")
    _attach(session, open_task, bounce, workspace_id)
    log.debug("bounce attached", task_id=open_task.task_id, category=open_task.category)


on_message_bounced = PrefetchingHandler(_on_message_bounced, store.prefetch)
"""The reaction, with the poll's bounce rows and open tasks loaded up front (see ``store``)."""


async def _open(session: AsyncSession, workspace_id: str, bounce: MessageBounced) -> Task | None:
    """Insert the task, its first bounce and `task.created`; None when another replica won the race."""
    step = domain.next_step(bounce.category)
    now = utcnow()
    task = Task(
        task_id=task_id_for(workspace_id, bounce.bounce_id),
        workspace_id=workspace_id,
        contact_id=bounce.contact_id,
        open_contact_id=bounce.contact_id,
        thread_id=bounce.thread_id,
        run_id=bounce.run_id,
        kind=domain.TASK_KIND,
        category=bounce.category,
        reason=bounce.reason,
        title=step.title,
        recommended_action=step.recommended_action,
        status=domain.TaskStatus.OPEN,
        due_at=domain.due_at(bounce.category, bounce.bounced_at),
        lead_bounce_id=bounce.bounce_id,
        lead_bounced_at=bounce.bounced_at,
        created_at=now,
        updated_at=now,
    )
    if store.is_prefetched(session):
        # Another replica's open task surfaces at the poll's flush, which is then retried event by
        # event, each of them taking the branch below.
        store.add_open_task(session, task)
        store.add_bounce(session, _bounce_row(task.task_id, bounce, workspace_id))
    else:
        try:
            async with session.begin_nested():
                session.add(task)
                session.add(_bounce_row(task.task_id, bounce, workspace_id))
                await session.flush()
        except IntegrityError:
            return None
    created = TaskCreated(
        task_id=task.task_id,
        contact_id=task.contact_id,
        thread_id=task.thread_id,
        message_id=bounce.message_id,
        bounce_id=bounce.bounce_id,
        category=bounce.category,
        recommended_action=task.recommended_action,
        due_at=task.due_at,
    )
    outbox_add(
        session,
        CloudEvent.build(
            created,
            source=SOURCE,
            workspace_id=workspace_id,
            subject=task.contact_id,
            event_id=_created_event_id(task.task_id),
        ),
    )
    return task


def _attach(session: AsyncSession, task: Task, bounce: MessageBounced, workspace_id: str) -> None:
    """Record the bounce on the open task; it takes over the next step when it leads (see domain)."""
    store.add_bounce(session, _bounce_row(task.task_id, bounce, workspace_id))
    new = domain.Lead(bounce.category, bounce.bounced_at)
    if domain.takes_the_lead(new, domain.Lead(task.category, task.lead_bounced_at)):
        step = domain.next_step(bounce.category)
        task.category = bounce.category
        task.reason = bounce.reason
        task.title = step.title
        task.recommended_action = step.recommended_action
        task.due_at = domain.due_at(bounce.category, bounce.bounced_at)
        task.thread_id = bounce.thread_id
        task.run_id = bounce.run_id
        task.lead_bounce_id = bounce.bounce_id
        task.lead_bounced_at = bounce.bounced_at
    task.updated_at = utcnow()
    session.add(task)


def _bounce_row(task_id: str, bounce: MessageBounced, workspace_id: str) -> TaskBounce:
    return TaskBounce(
        workspace_id=workspace_id,
        bounce_id=bounce.bounce_id,
        task_id=task_id,
        message_id=bounce.message_id,
        thread_id=bounce.thread_id,
        run_id=bounce.run_id,
        category=bounce.category,
        reason=bounce.reason,
        bounced_at=bounce.bounced_at,
        attached_at=utcnow(),
    )
