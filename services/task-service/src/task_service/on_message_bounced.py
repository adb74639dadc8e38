"""Reaction to `message.bounced`: open the contact's follow-up task, or attach the bounce to it."""

from __future__ import annotations

from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced
from seevee_shared.logging import get_logger
from task_service import domain, events_out
from task_service.store import TaskStore

log = get_logger(__name__)


async def on_message_bounced(bounce: MessageBounced, meta: EventMeta, store: TaskStore) -> None:
    workspace_id = meta.workspace_id
    seen = await store.seen_bounce(workspace_id, bounce.bounce_id)
    task = await store.open_task(workspace_id, bounce.contact_id)
    outcome = domain.on_bounce(already_seen=seen is not None, has_open_task=task is not None)
    now = utcnow()
    if outcome is domain.BounceOutcome.ALREADY_SEEN:
        log.debug("bounce already on a task", task_id=seen.task_id if seen else None)
    elif task is None:
        task = domain.open_task(workspace_id, bounce, now)
        store.open(task)
        store.attach(domain.bounce_on(task, bounce, now))
        store.publish(events_out.task_created(task, bounce))
        log.debug("task opened", task_id=task.task_id, category=task.category)
    else:
        store.attach(domain.attach(task, bounce, now))
        store.changed(task)
        log.debug("bounce attached", task_id=task.task_id, category=task.category)
