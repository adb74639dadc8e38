"""HTTP API of tasks, scoped to the caller's workspace: list, read, complete, dismiss."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.auth import CurrentPrincipal
from seevee_shared.db import utcnow
from seevee_shared.http import Conflict, Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.logging import get_logger
from seevee_shared.service import DbSession
from task_service import domain
from task_service.models import Task, TaskBounce

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
_CURSOR = {"time_field": "created_at", "id_field": "task_id"}
log = get_logger(__name__)


class BounceView(BaseModel):
    bounce_id: str
    message_id: str
    category: str
    reason: str
    bounced_at: datetime


class TaskView(BaseModel):
    task_id: str
    contact_id: str
    thread_id: str
    run_id: str | None
    kind: str
    category: str
    reason: str
    title: str
    recommended_action: str
    status: domain.TaskStatus
    due_at: datetime
    bounces: list[BounceView]
    created_at: datetime
    updated_at: datetime


@router.get("", response_model=Page[TaskView])
async def list_tasks(
    principal: CurrentPrincipal,
    session: DbSession,
    limit: Limit = 50,
    cursor: str | None = None,
    status: domain.TaskStatus | None = None,
    contact_id: str | None = None,
) -> Page[TaskView]:
    """Newest first; the cursor carries the last task's (created_at, task_id)."""
    query = select(Task).where(Task.workspace_id == principal.workspace_id)
    if status is not None:
        query = query.where(Task.status == status.value)
    if contact_id is not None:
        query = query.where(Task.contact_id == contact_id)
    if cursor is not None:
        after_created, after_id = decode_position(cursor, **_CURSOR)
        query = query.where(
            or_(
                col(Task.created_at) < after_created,
                and_(col(Task.created_at) == after_created, col(Task.task_id) < after_id),
            )
        )
    query = query.order_by(col(Task.created_at).desc(), col(Task.task_id).desc()).limit(limit + 1)
    tasks = list((await session.exec(query)).all())
    more = len(tasks) > limit
    tasks = tasks[:limit]
    next_cursor = None
    if more:
        last = tasks[-1]
        next_cursor = encode_position(last.created_at, last.task_id, **_CURSOR)
    return Page[TaskView](items=await _views(session, tasks), next_cursor=next_cursor)


@router.get("/{task_id}", response_model=TaskView)
async def get_task(task_id: str, principal: CurrentPrincipal, session: DbSession) -> TaskView:
    task = await _task(session, principal.workspace_id, task_id)
    return (await _views(session, [task]))[0]


@router.post("/{task_id}/complete", response_model=TaskView)
async def complete_task(task_id: str, principal: CurrentPrincipal, session: DbSession) -> TaskView:
    return await _close(session, principal.workspace_id, task_id, domain.TaskStatus.DONE)


@router.post("/{task_id}/dismiss", response_model=TaskView)
async def dismiss_task(task_id: str, principal: CurrentPrincipal, session: DbSession) -> TaskView:
    return await _close(session, principal.workspace_id, task_id, domain.TaskStatus.DISMISSED)


async def _close(
    session: AsyncSession, workspace_id: str, task_id: str, status: domain.TaskStatus
) -> TaskView:
    """Done and dismissed are final; freeing the open slot lets the contact's next bounce open a task."""
    task = await _task(session, workspace_id, task_id)
    if not domain.can_close(task.status):
        raise Conflict(f"task {task_id} is {task.status}, only an open task can become {status}")
    task.status = status.value
    task.open_contact_id = None
    task.updated_at = utcnow()
    session.add(task)
    await session.flush()
    log.info("task closed", task_id=task_id, contact_id=task.contact_id, status=status.value)
    return (await _views(session, [task]))[0]


async def _task(session: AsyncSession, workspace_id: str, task_id: str) -> Task:
    """Another workspace's task is answered exactly like a missing one."""
    task = await session.get(Task, task_id)
    if task is None or task.workspace_id != workspace_id:
        raise NotFound(f"no task {task_id}")
    return task


async def _views(session: AsyncSession, tasks: list[Task]) -> list[TaskView]:
    if not tasks:
        return []
    query = (
        select(TaskBounce)
        .where(
            TaskBounce.workspace_id == tasks[0].workspace_id,
            col(TaskBounce.task_id).in_([task.task_id for task in tasks]),
        )
        .order_by(col(TaskBounce.bounced_at), col(TaskBounce.bounce_id))
    )
    bounces: dict[str, list[BounceView]] = {task.task_id: [] for task in tasks}
    for row in (await session.exec(query)).all():
        bounces[row.task_id].append(
            BounceView(
                bounce_id=row.bounce_id,
                message_id=row.message_id,
                category=row.category,
                reason=row.reason,
                bounced_at=row.bounced_at,
            )
        )
    hidden = {"workspace_id", "open_contact_id", "lead_bounce_id", "lead_bounced_at"}
    return [TaskView(**task.model_dump(exclude=hidden), bounces=bounces[task.task_id]) for task in tasks]
