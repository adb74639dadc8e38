"""What the task-service publishes, and as whom."""

from __future__ import annotations

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageBounced, TaskCreated
from task_service import domain

SOURCE = "/seevee/task-service"


def task_created(task: domain.Task, bounce: MessageBounced) -> CloudEvent:
    """`task.created`, once per opened task (its id derived from the task's)."""
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
    return CloudEvent.build(
        created,
        source=SOURCE,
        workspace_id=task.workspace_id,
        subject=task.contact_id,
        event_id=domain.created_event_id(task.task_id),
    )
