"""The one place the task-service registers what it consumes: topic -> payload model -> handler."""

from __future__ import annotations

from seevee_shared.bus import Handlers, on
from seevee_shared.events import MessageBounced, Topic
from task_service.on_message_bounced import on_message_bounced
from task_service.settings import TaskSettings
from task_service.store import TaskStore


def handlers(settings: TaskSettings | None = None) -> Handlers[TaskStore]:
    return Handlers(
        store=TaskStore,
        topics={Topic.MESSAGE_BOUNCED: on(MessageBounced, on_message_bounced)},
    )
