"""The bounce handler on the in-memory store: every rule of opening and attaching, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from seevee_shared.bus import apply_poll
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import Category, MessageBounced, Topic, bounce_id_for
from seevee_shared.store import MemoryRows, table_of
from seevee_shared.store.base import OUTBOX
from seevee_shared.testing.polls import events_of, in_memory
from task_service import domain
from task_service.handlers import handlers
from task_service.models import Task, TaskBounce
from task_service.store import TaskStore

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
REASONS = {"mailbox_unknown": "userunknown", "temporary": "mailboxfull", "spam_policy": "blocked"}


def bounced(
    provider_event: str,
    category: Category = "mailbox_unknown",
    *,
    contact: str = "c-1",
    hours: int = 0,
    event_id: str | None = None,
) -> CloudEvent:
    bounce_id = bounce_id_for("sendgrid", provider_event, f"{contact}@acme.example")
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{provider_event}",
        thread_id=f"t-{provider_event}",
        contact_id=contact,
        run_id=f"r-{provider_event}",
        recipient=f"{contact}@acme.example",
        category=category,
        reason=REASONS[category],
        permanent=category == "mailbox_unknown",
        provider="sendgrid",
        provider_event_id=provider_event,
        matched_by="message_id",
        bounced_at=T0 + timedelta(hours=hours),
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id="ws-1", subject=contact, event_id=event_id or bounce_id
    )


def tasks(rows: MemoryRows) -> list[dict[str, object]]:
    return rows.rows(table_of(Task))


def bounces(rows: MemoryRows) -> list[dict[str, object]]:
    return sorted(rows.rows(table_of(TaskBounce)), key=lambda row: str(row["bounced_at"]))


async def test_a_bounce_opens_a_task_with_its_next_step_and_announces_it() -> None:
    event = bounced("e-1", "mailbox_unknown")
    rows = await in_memory(handlers(), [event])
    (task,) = tasks(rows)
    assert task["task_id"] == domain.task_id_for("ws-1", event.id)
    assert (task["status"], task["open_contact_id"], task["category"]) == ("open", "c-1", "mailbox_unknown")
    assert task["recommended_action"] == domain.NEXT_STEPS["mailbox_unknown"].recommended_action
    assert task["due_at"] == T0
    assert [b["bounce_id"] for b in bounces(rows)] == [event.id]
    (announced,) = rows.rows(OUTBOX)
    assert announced["topic"] == Topic.TASK_CREATED
    assert announced["event_id"] == domain.created_event_id(str(task["task_id"]))
    assert announced["key"] == "c-1"


async def test_a_temporary_bounce_is_due_a_day_later() -> None:
    (task,) = tasks(await in_memory(handlers(), [bounced("e-1", "temporary")]))
    assert task["due_at"] == T0 + timedelta(days=1)


async def test_later_bounces_attach_and_the_most_severe_leads() -> None:
    polls = [
        [bounced("e-1", "temporary")],
        [bounced("e-2", "mailbox_unknown", hours=1), bounced("e-3", "temporary", hours=2)],
    ]
    rows = await in_memory(handlers(), *polls)
    (task,) = tasks(rows)
    assert (task["category"], task["reason"], task["due_at"]) == (
        "mailbox_unknown",
        "userunknown",
        T0 + timedelta(hours=1),
    )
    assert task["thread_id"] == "t-e-2"
    assert [b["category"] for b in bounces(rows)] == ["temporary", "mailbox_unknown", "temporary"]
    assert len(rows.rows(OUTBOX)) == 1


async def test_the_same_bounce_under_another_event_id_attaches_once() -> None:
    first = bounced("e-1")
    again = bounced("e-1", event_id="a-retry-of-e-1")
    rows = await in_memory(handlers(), [first, first, again], [again])
    assert len(tasks(rows)) == 1
    assert [b["bounce_id"] for b in bounces(rows)] == [first.id]


async def test_contacts_get_a_task_each() -> None:
    rows = await in_memory(handlers(), [bounced("e-1", contact="c-1"), bounced("e-2", contact="c-2")])
    assert sorted(str(task["contact_id"]) for task in tasks(rows)) == ["c-1", "c-2"]


async def test_after_the_task_is_closed_a_new_bounce_opens_a_new_one() -> None:
    registry = handlers()
    rows = await in_memory(registry, [bounced("e-1")])
    store = TaskStore(rows)
    task = await store.open_task("ws-1", "c-1")
    assert task is not None
    domain.close(task, domain.TaskStatus.DONE, T0)
    store.closed(task)
    await store.write()

    await apply_poll(registry, rows, "test", events_of(registry, [bounced("e-2", "spam_policy", hours=24)]))
    closed, opened = sorted(tasks(rows), key=lambda row: str(row["lead_bounced_at"]))
    assert (closed["status"], closed["open_contact_id"]) == ("done", None)
    assert (opened["status"], opened["category"], opened["open_contact_id"]) == ("open", "spam_policy", "c-1")
    assert len(rows.rows(OUTBOX)) == 2
