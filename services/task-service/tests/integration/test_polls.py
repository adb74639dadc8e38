"""A poll applied in one go leaves the store as applying its events one by one, redelivered, on the
careful path, or in memory (the shared ``PollSuite``).

Bounces of one contact in the same poll must find the task the first of them opened; a bounce already
on a task must stay put, whichever event id brings it again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from sqlalchemy import Table

from seevee_shared.bus import Handlers
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import BounceCategory, Category, MessageBounced, bounce_id_for
from seevee_shared.store import table_of
from seevee_shared.testing.polls import PollSuite, State
from task_service.app import MIGRATIONS_DIR
from task_service.handlers import handlers
from task_service.models import Task, TaskBounce
from task_service.store import TaskStore

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def bounced(
    provider_event: str, contact_id: str, category: Category, minutes: int, event_id: str | None = None
) -> CloudEvent:
    bounce_id = bounce_id_for("postmark", provider_event, f"{contact_id}@acme.example")
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{provider_event}",
        thread_id=f"t-{provider_event}",
        contact_id=contact_id,
        recipient=f"{contact_id}@acme.example",
        category=category,
        reason="userunknown" if category == BounceCategory.MAILBOX_UNKNOWN else "mailboxfull",
        permanent=category == BounceCategory.MAILBOX_UNKNOWN,
        provider="postmark",
        provider_event_id=provider_event,
        matched_by="message_id",
        bounced_at=T0 + timedelta(minutes=minutes),
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id="ws-1", subject=contact_id, event_id=event_id or bounce_id
    )


class TestPolls(PollSuite):
    group = "task-service"
    migrations = MIGRATIONS_DIR
    tables: ClassVar[Mapping[Table, Collection[str]]] = {
        table_of(Task): ("created_at", "updated_at"),
        table_of(TaskBounce): ("attached_at",),
    }

    def handlers(self) -> Handlers[TaskStore]:
        return handlers()

    def before(self) -> list[CloudEvent]:
        return [bounced("e-0", "c-3", "temporary", 0)]

    def poll(self) -> list[CloudEvent]:
        return [
            bounced("e-1", "c-1", "temporary", 1),
            bounced("e-2", "c-1", "mailbox_unknown", 2),
            bounced("e-3", "c-2", "spam_policy", 3),
            bounced("e-2", "c-1", "mailbox_unknown", 2),
            bounced("e-4", "c-3", "mailbox_unknown", 4),
            bounced("e-0", "c-3", "temporary", 0, event_id="another-delivery-of-e-0"),
            bounced("e-5", "c-1", "temporary", 5),
        ]

    def check(self, state: State) -> None:
        tasks, bounces, outbox = state["task_tasks"], state["task_bounces"], state["outbox"]
        contacts = [task[2] for task in tasks]  # (task_id, workspace_id, contact_id, ...)
        assert contacts.count("c-1") == 1
        assert len(bounces) == 6
        assert len(outbox) == 3
