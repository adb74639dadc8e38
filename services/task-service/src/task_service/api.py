"""HTTP API of tasks, scoped to the caller's workspace: list, read, complete, dismiss."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from seevee_shared.auth import CurrentPrincipal
from seevee_shared.db import utcnow
from seevee_shared.http import Conflict, Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.logging import get_logger
from seevee_shared.service import store_dependency
from task_service import domain
from task_service.store import TaskStore
from task_service.views import TaskView, task_views

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])
_CURSOR = {"time_field": "created_at", "id_field": "task_id"}
log = get_logger(__name__)

Tasks = Annotated[TaskStore, Depends(store_dependency(TaskStore), scope="function")]


@router.get("", response_model=Page[TaskView])
async def list_tasks(
    principal: CurrentPrincipal,
    store: Tasks,
    limit: Limit = 50,
    cursor: str | None = None,
    status: domain.TaskStatus | None = None,
    contact_id: str | None = None,
) -> Page[TaskView]:
    """Newest first; the cursor carries the last task's (created_at, task_id)."""
    after = decode_position(cursor, **_CURSOR) if cursor is not None else None
    tasks = await store.tasks(
        principal.workspace_id,
        limit=limit + 1,
        status=status.value if status is not None else None,
        contact_id=contact_id,
        after=after,
    )
    more = len(tasks) > limit
    tasks = tasks[:limit]
    next_cursor = None
    if more:
        last = tasks[-1]
        next_cursor = encode_position(last.created_at, last.task_id, **_CURSOR)
    views = task_views(tasks, await store.bounces_of(tasks))
    return Page[TaskView](items=views, next_cursor=next_cursor)


@router.get("/{task_id}", response_model=TaskView)
async def get_task(task_id: str, principal: CurrentPrincipal, store: Tasks) -> TaskView:
    task = await _task(store, principal.workspace_id, task_id)
    return task_views([task], await store.bounces_of([task]))[0]


@router.post("/{task_id}/complete", response_model=TaskView)
async def complete_task(task_id: str, principal: CurrentPrincipal, store: Tasks) -> TaskView:
    return await _close(store, principal.workspace_id, task_id, domain.TaskStatus.DONE)


@router.post("/{task_id}/dismiss", response_model=TaskView)
async def dismiss_task(task_id: str, principal: CurrentPrincipal, store: Tasks) -> TaskView:
    return await _close(store, principal.workspace_id, task_id, domain.TaskStatus.DISMISSED)


async def _close(store: TaskStore, workspace_id: str, task_id: str, status: domain.TaskStatus) -> TaskView:
    task = await _task(store, workspace_id, task_id)
    if not domain.can_close(task.status):
        raise Conflict(f"task {task_id} is {task.status}, only an open task can become {status}")
    domain.close(task, status, utcnow())
    store.closed(task)
    log.info("task closed", task_id=task_id, contact_id=task.contact_id, status=status.value)
    return task_views([task], await store.bounces_of([task]))[0]


async def _task(store: TaskStore, workspace_id: str, task_id: str) -> domain.Task:
    """Another workspace's task is answered exactly like a missing one."""
    task = await store.task(workspace_id, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task
