"""What the API answers: a task with its bounces, as ARCHITECTURE 5 lists its fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel

from task_service import domain


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


def task_views(
    tasks: Sequence[domain.Task], bounces: Mapping[str, Sequence[domain.TaskBounce]]
) -> list[TaskView]:
    return [
        TaskView(
            task_id=task.task_id,
            contact_id=task.contact_id,
            thread_id=task.thread_id,
            run_id=task.run_id,
            kind=task.kind,
            category=task.category,
            reason=task.reason,
            title=task.title,
            recommended_action=task.recommended_action,
            status=domain.TaskStatus(task.status),
            due_at=task.due_at,
            bounces=[
                BounceView(
                    bounce_id=bounce.bounce_id,
                    message_id=bounce.message_id,
                    category=bounce.category,
                    reason=bounce.reason,
                    bounced_at=bounce.bounced_at,
                )
                for bounce in bounces.get(task.task_id, ())
            ],
            created_at=task.created_at,
            updated_at=task.updated_at,
        )
        for task in tasks
    ]
