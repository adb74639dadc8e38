"""Pure rules of bounce follow-up tasks: which next step, when it is due, which bounce leads a task.

No I/O here: handlers and the API call these functions and store what they decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

TASK_KIND = "bounce_follow_up"

BounceCategory = Literal["mailbox_unknown", "temporary", "spam_policy"]

TEMPORARY_BOUNCE_DELAY = timedelta(days=1)
"""A temporary bounce is due in a day: retrying sooner usually meets the same full mailbox or greylist."""


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
    "mailbox_unknown": NextStep(
        title="Mailbox unknown: find a current address for this contact",
        recommended_action=(
            "The person probably left the company: look for a current employer on LinkedIn, "
            "or reveal a different contact."
        ),
    ),
    "temporary": NextStep(
        title="Temporary bounce: try again in a day",
        recommended_action="Try again in a day; the run can be restarted from Outreach > Runs.",
    ),
    "spam_policy": NextStep(
        title="Blocked by the employer's filters: rework the message",
        recommended_action=(
            "The employer's filters caught the message: shorten and personalize the next attempt, "
            "or use a different contact."
        ),
    ),
}

SEVERITY: dict[str, int] = {"temporary": 1, "spam_policy": 2, "mailbox_unknown": 3}
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
    if category == "temporary":
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
