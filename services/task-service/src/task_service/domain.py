"""Pure rules of bounce follow-up tasks: which next step, when it is due, which bounce leads a task.

No I/O here: the handler and the API call these and hand what they decide to the store. ``Task`` and
``TaskBounce`` are the rows as plain objects (their fields are the columns of ``models``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from seevee_shared.events import BounceCategory, Category, MessageBounced
from seevee_shared.ids import name_id

TASK_KIND = "bounce_follow_up"

TEMPORARY_BOUNCE_DELAY = timedelta(days=1)
"""A temporary bounce is due in a day: retrying sooner usually meets the same full mailbox or greylist."""

_IDS = uuid.UUID("0b7e3c52-9f4a-5d1e-8c36-5a2f1e7d9b40")


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class NextStep:
    """What the user is told to do about a bounce of one category (texts from the help center)."""

    title: str
    recommended_action: str


NEXT_STEPS: dict[str, NextStep] = {
    BounceCategory.MAILBOX_UNKNOWN: NextStep(
        title="Mailbox unknown: find a current address for this contact",
        recommended_action=(
            "The person probably left the company: look for a current employer on LinkedIn, "
            "or reveal a different contact."
        ),
    ),
    BounceCategory.TEMPORARY: NextStep(
        title="Temporary bounce: try again in a day",
        recommended_action="Try again in a day; the run can be restarted from Outreach > Runs.",
    ),
    BounceCategory.SPAM_POLICY: NextStep(
        title="Blocked by the employer's filters: rework the message",
        recommended_action=(
            "The employer's filters caught the message: shorten and personalize the next attempt, "
            "or use a different contact."
        ),
    ),
}

SEVERITY: dict[str, int] = {
    BounceCategory.TEMPORARY: 1,
    BounceCategory.SPAM_POLICY: 2,
    BounceCategory.MAILBOX_UNKNOWN: 3,
}
"""How strongly a category calls for the user's attention: a dead mailbox outranks a filter, which
outranks a bounce that may clear by itself."""


class UnknownCategoryError(ValueError):
    """The bounce category is none of the three this service has a next step for."""


def next_step(category: str) -> NextStep:
    try:
        return NEXT_STEPS[category]
    except KeyError:
        raise UnknownCategoryError(category) from None


def due_at(category: str, bounced_at: datetime) -> datetime:
    """When the user should act: at the bounce, or a day later for a temporary bounce."""
    next_step(category)
    if category == BounceCategory.TEMPORARY:
        return bounced_at + TEMPORARY_BOUNCE_DELAY
    return bounced_at


@dataclass(frozen=True)
class Lead:
    """The bounce that currently decides a task's category, reason, next step and due time."""

    category: str
    bounced_at: datetime


def takes_the_lead(new: Lead, current: Lead) -> bool:
    """A later bounce leads the task when it is more severe, or as severe and not older.

    So a dead mailbox is never hidden by a later full mailbox, and among equals the newest bounce
    (by its own time, not arrival) sets the reason and the due time.
    """
    new_rank, current_rank = SEVERITY[new.category], SEVERITY[current.category]
    if new_rank != current_rank:
        return new_rank > current_rank
    return new.bounced_at >= current.bounced_at


class BounceOutcome(StrEnum):
    OPEN_NEW = "open_new"
    ATTACH = "attach"
    ALREADY_SEEN = "already_seen"


def on_bounce(*, already_seen: bool, has_open_task: bool) -> BounceOutcome:
    """One open task per contact: a bounce attaches to it, or opens one when none is open.

    A bounce already recorded (on any task of the workspace) changes nothing.
    """
    if already_seen:
        return BounceOutcome.ALREADY_SEEN
    if has_open_task:
        return BounceOutcome.ATTACH
    return BounceOutcome.OPEN_NEW


def can_close(status: str) -> bool:
    """Only an open task can be completed or dismissed; done and dismissed are final."""
    return status == TaskStatus.OPEN


def task_id_for(workspace_id: str, bounce_id: str) -> str:
    """The task a bounce opens has an id derived from it, so replaying that bounce can't open another."""
    return name_id(_IDS, f"task\x1f{workspace_id}\x1f{bounce_id}")


def created_event_id(task_id: str) -> str:
    """The id of a task's ``task.created``: derived, so a replay announces nothing new."""
    return name_id(_IDS, f"task.created\x1f{task_id}")


@dataclass
class Task:
    """A follow-up task; ``open_contact_id`` is the contact while open, None after (see ``models``)."""

    task_id: str
    workspace_id: str
    contact_id: str
    open_contact_id: str | None
    thread_id: str
    run_id: str | None
    kind: str
    category: Category
    reason: str
    title: str
    recommended_action: str
    status: str
    due_at: datetime
    lead_bounce_id: str
    lead_bounced_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass
class TaskBounce:
    """A bounce attached to a task."""

    workspace_id: str
    bounce_id: str
    task_id: str
    message_id: str
    thread_id: str
    run_id: str | None
    category: Category
    reason: str
    bounced_at: datetime
    attached_at: datetime


def open_task(workspace_id: str, bounce: MessageBounced, now: datetime) -> Task:
    """The task a bounce opens for a contact who has none open; the bounce leads it."""
    step = next_step(bounce.category)
    return Task(
        task_id=task_id_for(workspace_id, bounce.bounce_id),
        workspace_id=workspace_id,
        contact_id=bounce.contact_id,
        open_contact_id=bounce.contact_id,
        thread_id=bounce.thread_id,
        run_id=bounce.run_id,
        kind=TASK_KIND,
        category=bounce.category,
        reason=bounce.reason,
        title=step.title,
        recommended_action=step.recommended_action,
        status=TaskStatus.OPEN,
        due_at=due_at(bounce.category, bounce.bounced_at),
        lead_bounce_id=bounce.bounce_id,
        lead_bounced_at=bounce.bounced_at,
        created_at=now,
        updated_at=now,
    )


def attach(task: Task, bounce: MessageBounced, now: datetime) -> TaskBounce:
    """Record a bounce on an open task; it takes over the next step when it leads."""
    if takes_the_lead(Lead(bounce.category, bounce.bounced_at), Lead(task.category, task.lead_bounced_at)):
        step = next_step(bounce.category)
        task.category = bounce.category
        task.reason = bounce.reason
        task.title = step.title
        task.recommended_action = step.recommended_action
        task.due_at = due_at(bounce.category, bounce.bounced_at)
        task.thread_id = bounce.thread_id
        task.run_id = bounce.run_id
        task.lead_bounce_id = bounce.bounce_id
        task.lead_bounced_at = bounce.bounced_at
    task.updated_at = now
    return bounce_on(task, bounce, now)


def bounce_on(task: Task, bounce: MessageBounced, now: datetime) -> TaskBounce:
    return TaskBounce(
        workspace_id=task.workspace_id,
        bounce_id=bounce.bounce_id,
        task_id=task.task_id,
        message_id=bounce.message_id,
        thread_id=bounce.thread_id,
        run_id=bounce.run_id,
        category=bounce.category,
        reason=bounce.reason,
        bounced_at=bounce.bounced_at,
        attached_at=now,
    )


def close(task: Task, status: TaskStatus, now: datetime) -> None:
    """Done or dismissed, final; freeing the open slot lets the contact's next bounce open a task."""
    task.status = status.value
    task.open_contact_id = None
    task.updated_at = now
