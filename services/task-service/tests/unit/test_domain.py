"""Table-driven tests of the task rules: next step, due time, lead bounce, attach vs open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from task_service.domain import (
    BounceOutcome,
    Lead,
    TaskStatus,
    UnknownCategoryError,
    can_close,
    due_at,
    next_step,
    on_bounce,
    takes_the_lead,
)

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("category", "title_start", "action"),
    [
        (
            "mailbox_unknown",
            "Mailbox unknown",
            "The person probably left the company: look for a current employer on LinkedIn, "
            "or reveal a different contact.",
        ),
        (
            "temporary",
            "Temporary bounce",
            "Try again in a day; the run can be restarted from Outreach > Runs.",
        ),
        (
            "spam_policy",
            "Blocked by the employer's filters",
            "The employer's filters caught the message: shorten and personalize the next attempt, "
            "or use a different contact.",
        ),
    ],
)
def test_next_step_per_category(category: str, title_start: str, action: str) -> None:
    step = next_step(category)
    assert step.recommended_action == action
    assert step.title.startswith(title_start)


@pytest.mark.parametrize("category", ["", "hard", "Mailbox_Unknown", "undefined"])
def test_unknown_category_has_no_next_step(category: str) -> None:
    with pytest.raises(UnknownCategoryError):
        next_step(category)
    with pytest.raises(UnknownCategoryError):
        due_at(category, T0)


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("mailbox_unknown", T0),
        ("spam_policy", T0),
        ("temporary", T0 + timedelta(days=1)),
    ],
)
def test_due_time_per_category(category: str, expected: datetime) -> None:
    assert due_at(category, T0) == expected


LATER = T0 + timedelta(hours=2)
EARLIER = T0 - timedelta(hours=2)


@pytest.mark.parametrize(
    ("new", "current", "leads"),
    [
        (Lead("mailbox_unknown", LATER), Lead("temporary", T0), True),
        (Lead("mailbox_unknown", EARLIER), Lead("temporary", T0), True),
        (Lead("spam_policy", LATER), Lead("temporary", T0), True),
        (Lead("mailbox_unknown", LATER), Lead("spam_policy", T0), True),
        (Lead("temporary", LATER), Lead("mailbox_unknown", T0), False),
        (Lead("temporary", LATER), Lead("spam_policy", T0), False),
        (Lead("spam_policy", LATER), Lead("mailbox_unknown", T0), False),
        (Lead("temporary", LATER), Lead("temporary", T0), True),
        (Lead("temporary", T0), Lead("temporary", T0), True),
        (Lead("temporary", EARLIER), Lead("temporary", T0), False),
        (Lead("mailbox_unknown", EARLIER), Lead("mailbox_unknown", T0), False),
    ],
)
def test_which_bounce_leads_the_task(new: Lead, current: Lead, leads: bool) -> None:
    assert takes_the_lead(new, current) is leads


@pytest.mark.parametrize(
    ("already_seen", "has_open_task", "outcome"),
    [
        (False, False, BounceOutcome.OPEN_NEW),
        (False, True, BounceOutcome.ATTACH),
        (True, True, BounceOutcome.ALREADY_SEEN),
        (True, False, BounceOutcome.ALREADY_SEEN),
    ],
)
def test_attach_or_open_new(already_seen: bool, has_open_task: bool, outcome: BounceOutcome) -> None:
    assert on_bounce(already_seen=already_seen, has_open_task=has_open_task) is outcome


@pytest.mark.parametrize(
    ("status", "closable"),
    [(TaskStatus.OPEN, True), (TaskStatus.DONE, False), (TaskStatus.DISMISSED, False)],
)
def test_only_open_tasks_close(status: TaskStatus, closable: bool) -> None:
    assert can_close(status) is closable
