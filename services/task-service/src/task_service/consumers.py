"""The one place the task-service registers what it consumes: topic -> handler."""

from __future__ import annotations

from seevee_shared.bus import Handler
from seevee_shared.events import Topic
from task_service.handlers import on_message_bounced

HANDLERS: dict[str, Handler] = {Topic.MESSAGE_BOUNCED: on_message_bounced}
