"""Table-driven tests of the run rules."""

from datetime import UTC, datetime, timedelta

import pytest

from run_orchestrator.domain import (
    Bounce,
    NotPausedError,
    Pause,
    Run,
    RunStatus,
    Step,
    StepStatus,
    apply_bounce,
    auto_restart,
    due_step,
    next_due_at,
    pause_sibling,
    plan_steps,
    record_sent,
    restart,
    stop,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def make_run(
    statuses: list[StepStatus], current: int = 1, status: RunStatus = "active", bounce_count: int = 0
) -> Run:
    steps = [Step(step=i, delay_hours=24.0, status=s) for i, s in enumerate(statuses, start=1)]
    for step in steps:
        if step.status in ("sent", "bounced"):
            step.sent_at, step.message_id = hours(step.step), f"m{step.step}"
    steps[current - 1].due_at = steps[current - 1].due_at or hours(0)
    return Run("r1", status, current, steps, bounce_count=bounce_count)


def bounce(step: int = 1, category: str = "mailbox_unknown", bounce_id: str = "b1") -> Bounce:
    return Bounce(bounce_id, step, category, "userunknown", hours(30))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sent_at", "delay", "expected"),
    [(T0, 0, T0), (T0, 24, hours(24)), (T0, 1.5, hours(1.5)), (hours(5), 72, hours(77))],
)
def test_next_due_at_is_the_delay_after_the_previous_send(
    sent_at: datetime, delay: float, expected: datetime
) -> None:
    assert next_due_at(sent_at, delay) == expected


def test_plan_times_only_the_first_step() -> None:
    steps = plan_steps([2, 24, 48], T0)
    assert [(s.step, s.status, s.due_at) for s in steps] == [
        (1, "scheduled", hours(2)),
        (2, "scheduled", None),
        (3, "scheduled", None),
    ]


@pytest.mark.parametrize(
    ("status", "step_status", "due_at", "claimable"),
    [
        ("active", "scheduled", hours(0), True),
        ("active", "scheduled", NOW + timedelta(seconds=1), False),
        ("active", "due", hours(0), False),
        ("paused", "scheduled", hours(0), False),
        ("stopped", "scheduled", hours(0), False),
        ("completed", "scheduled", hours(0), False),
    ],
)
def test_due_step_only_for_the_current_scheduled_step_of_an_active_run(
    status: RunStatus, step_status: StepStatus, due_at: datetime, claimable: bool
) -> None:
    run = make_run([step_status, "scheduled"], status=status)
    run.steps[0].due_at = due_at
    assert (due_step(run, NOW) is not None) is claimable


@pytest.mark.parametrize(
    ("statuses", "current", "status", "sent_step", "want_status", "want_current", "want_steps"),
    [
        # the in-flight step is sent: the next one is scheduled
        (["due", "scheduled"], 1, "active", 1, "active", 2, ["sent", "scheduled"]),
        # the last step sent completes the run
        (["sent", "due"], 2, "active", 2, "completed", 2, ["sent", "sent"]),
        # a send reported before the claim was seen still counts for the current step
        (["scheduled", "scheduled"], 1, "active", 1, "active", 2, ["sent", "scheduled"]),
        # a paused run records the in-flight send but does not move on
        (["due", "scheduled"], 1, "paused", 1, "paused", 1, ["sent", "scheduled"]),
        # a stopped run records a send that was already on its way
        (["cancelled", "cancelled"], 1, "stopped", 1, "stopped", 1, ["sent", "cancelled"]),
        # a send for a step that is not in flight is stale
        (["due", "scheduled"], 1, "active", 2, "active", 1, ["due", "scheduled"]),
    ],
)
def test_record_sent(
    statuses: list[StepStatus],
    current: int,
    status: RunStatus,
    sent_step: int,
    want_status: RunStatus,
    want_current: int,
    want_steps: list[StepStatus],
) -> None:
    run = make_run(statuses, current=current, status=status)
    new = record_sent(run, sent_step, "m-new", hours(10)).run
    assert (new.status, new.current_step, [s.status for s in new.steps]) == (
        want_status,
        want_current,
        want_steps,
    )


def test_record_sent_schedules_the_next_step_from_the_send_time() -> None:
    run = make_run(["due", "scheduled"])
    run.steps[1].delay_hours = 48
    new = record_sent(run, 1, "m1", hours(10)).run
    assert new.steps[0].sent_at == hours(10)
    assert new.steps[0].message_id == "m1"
    assert new.steps[1].due_at == hours(58)


def test_record_sent_twice_changes_nothing() -> None:
    once = record_sent(make_run(["due", "scheduled", "scheduled"]), 1, "m1", hours(10)).run
    twice = record_sent(once, 1, "m1", hours(10))
    assert not twice.changed
    assert twice.run == once


def test_record_sent_after_the_bounce_keeps_the_step_bounced() -> None:
    run = make_run(["due", "scheduled"])
    run = apply_bounce(run, bounce(1), max_bounces=3, auto_restart_hours=None, now=NOW).run
    run.steps[0].sent_at = run.steps[0].message_id = None
    new = record_sent(run, 1, "m1", hours(1)).run
    assert (new.status, new.steps[0].status, new.steps[0].message_id) == ("paused", "bounced", "m1")


@pytest.mark.parametrize(
    ("statuses", "current", "status", "bounced_step", "want_status", "want_pause_step", "announce"),
    [
        # a bounce of the step in flight pauses the run on it
        (["sent", "scheduled"], 2, "active", 1, "paused", 1, "paused"),
        # a late bounce: step 2 already went out, the run pauses on step 1
        (["sent", "sent", "scheduled"], 3, "active", 1, "paused", 1, "paused"),
        # a bounce of the last step pauses a completed run so it can be restarted
        (["sent", "sent"], 2, "completed", 2, "paused", 2, "paused"),
        # a stopped run stays stopped
        (["sent", "cancelled"], 2, "stopped", 1, "stopped", None, None),
    ],
)
def test_bounce_pauses_on_the_bounced_step(
    statuses: list[StepStatus],
    current: int,
    status: RunStatus,
    bounced_step: int,
    want_status: RunStatus,
    want_pause_step: int | None,
    announce: str | None,
) -> None:
    run = make_run(statuses, current=current, status=status)
    outcome = apply_bounce(run, bounce(bounced_step), max_bounces=3, auto_restart_hours=None, now=NOW)
    new = outcome.run
    assert new.status == want_status
    assert (new.pause.step if new.pause else None) == want_pause_step
    assert new.steps[bounced_step - 1].status == "bounced"
    assert new.bounce_count == 1
    assert (outcome.transition.kind if outcome.transition else None) == announce
    if outcome.transition:
        assert (outcome.transition.cause, outcome.transition.bounce_id) == ("bounce", "b1")
    if new.status == "paused":
        assert new.current_step == bounced_step
        assert due_step(new, NOW + timedelta(days=365)) is None


@pytest.mark.parametrize(
    ("paused_on", "bounced_step", "want_pause_step", "announce"),
    [(2, 1, 1, True), (1, 2, 1, False), (1, 1, 1, False)],
)
def test_a_paused_run_keeps_the_earliest_bounced_step(
    paused_on: int, bounced_step: int, want_pause_step: int, announce: bool
) -> None:
    run = make_run(["sent", "sent", "scheduled"], current=3)
    run = apply_bounce(run, bounce(paused_on), max_bounces=5, auto_restart_hours=None, now=NOW).run
    outcome = apply_bounce(
        run, bounce(bounced_step, bounce_id="b2"), max_bounces=5, auto_restart_hours=None, now=NOW
    )
    assert outcome.run.pause is not None
    assert outcome.run.pause.step == want_pause_step
    assert (outcome.transition is not None) is announce
    assert outcome.run.bounce_count == 2


@pytest.mark.parametrize(
    ("earlier_bounces", "max_bounces", "want_status", "cause"),
    [
        (0, 3, "paused", "bounce"),
        (1, 3, "paused", "bounce"),
        (2, 3, "stopped", "policy"),
        (0, 1, "stopped", "policy"),
    ],
)
def test_max_bounces_stops_the_run_by_policy(
    earlier_bounces: int, max_bounces: int, want_status: RunStatus, cause: str
) -> None:
    run = make_run(["sent", "scheduled"], current=2, bounce_count=earlier_bounces)
    outcome = apply_bounce(run, bounce(1), max_bounces=max_bounces, auto_restart_hours=None, now=NOW)
    assert outcome.run.status == want_status
    assert outcome.transition is not None
    assert outcome.transition.cause == cause
    if want_status == "stopped":
        assert outcome.run.steps[1].status == "cancelled"
        assert outcome.run.stop is not None and outcome.run.stop.bounce_id == "b1"


@pytest.mark.parametrize(
    ("status", "want_status", "announce"),
    [
        ("active", "stopped", True),
        ("paused", "stopped", True),
        ("stopped", "stopped", False),
        ("completed", "completed", False),
    ],
)
def test_stop_is_final(status: RunStatus, want_status: RunStatus, announce: bool) -> None:
    run = make_run(["sent", "due", "scheduled"], current=2, status=status)
    outcome = stop(run, "user", NOW)
    assert outcome.run.status == want_status
    assert (outcome.transition is not None) is announce
    if announce:
        assert [s.status for s in outcome.run.steps] == ["sent", "cancelled", "cancelled"]
        assert due_step(outcome.run, NOW + timedelta(days=365)) is None
        with pytest.raises(NotPausedError):
            restart(outcome.run, NOW, "user", NOW)


@pytest.mark.parametrize("status", ["active", "stopped", "completed"])
def test_restart_only_from_paused(status: RunStatus) -> None:
    with pytest.raises(NotPausedError):
        restart(make_run(["sent", "scheduled"], current=2, status=status), NOW, "user", NOW)


def test_restart_resumes_at_the_bounced_step_and_replays_the_rest() -> None:
    run = make_run(["sent", "sent", "scheduled"], current=3)
    run = apply_bounce(run, bounce(1, "temporary"), max_bounces=3, auto_restart_hours=None, now=NOW).run
    at = NOW + timedelta(hours=3)
    outcome = restart(run, at, "user", NOW)
    new = outcome.run
    assert (new.status, new.current_step, new.pause) == ("active", 1, None)
    assert [(s.status, s.due_at, s.message_id) for s in new.steps] == [
        ("scheduled", at, None),
        ("scheduled", None, None),
        ("scheduled", None, None),
    ]
    assert outcome.transition is not None
    assert (outcome.transition.kind, outcome.transition.step, outcome.transition.cause) == (
        "resumed",
        1,
        "user",
    )
    assert new.bounce_count == 1
    assert due_step(new, at) is not None


def test_restart_of_a_sibling_paused_run_whose_step_went_out_moves_on() -> None:
    run = make_run(["sent", "due", "scheduled"], current=2)
    run = pause_sibling(run, bounce(1), NOW).run
    run = record_sent(run, 2, "m2", NOW).run
    new = restart(run, NOW, "user", NOW).run
    assert (new.current_step, [s.status for s in new.steps]) == (3, ["sent", "sent", "scheduled"])
    assert new.steps[2].due_at == NOW


@pytest.mark.parametrize(
    ("status", "want_status", "announce"),
    [
        ("active", "paused", True),
        ("paused", "paused", False),
        ("stopped", "stopped", False),
        ("completed", "completed", False),
    ],
)
def test_sibling_pause_only_touches_active_runs(
    status: RunStatus, want_status: RunStatus, announce: bool
) -> None:
    run = make_run(["sent", "scheduled"], current=2, status=status)
    if status == "paused":
        run.pause = Pause(2, "user", None, None, None, T0)
    outcome = pause_sibling(run, bounce(1), NOW)
    assert outcome.run.status == want_status
    assert (outcome.transition is not None) is announce
    if announce:
        assert outcome.run.pause == Pause(2, "bounce", "b1", "mailbox_unknown", "userunknown", NOW)
        assert outcome.run.bounce_count == 0


@pytest.mark.parametrize(
    ("hours_setting", "category", "want_auto_restart_at"),
    [
        (None, "temporary", None),
        (6.0, "temporary", hours(36)),
        (6.0, "mailbox_unknown", None),
        (6.0, "spam_policy", None),
    ],
)
def test_auto_restart_is_planned_only_for_temporary_bounces_when_enabled(
    hours_setting: float | None, category: str, want_auto_restart_at: datetime | None
) -> None:
    run = make_run(["sent", "scheduled"], current=2)
    new = apply_bounce(run, bounce(1, category), max_bounces=3, auto_restart_hours=hours_setting, now=NOW).run
    assert new.auto_restart_at == want_auto_restart_at


def test_auto_restart_happens_once() -> None:
    run = make_run(["sent", "scheduled"], current=2)
    run = apply_bounce(run, bounce(1, "temporary"), max_bounces=5, auto_restart_hours=6, now=NOW).run
    assert not auto_restart(run, hours(35)).changed
    outcome = auto_restart(run, hours(36))
    assert outcome.transition is not None
    assert (outcome.transition.kind, outcome.transition.cause) == ("resumed", "policy")
    run = outcome.run
    assert (run.status, run.current_step, run.auto_restarts, run.auto_restart_at) == ("active", 1, 1, None)
    again = apply_bounce(run, bounce(1, "temporary", "b2"), max_bounces=5, auto_restart_hours=6, now=NOW).run
    assert (again.status, again.auto_restart_at) == ("paused", None)
    assert not auto_restart(again, NOW + timedelta(days=30)).changed


def test_a_hard_bounce_cancels_a_planned_auto_restart() -> None:
    run = make_run(["sent", "sent", "scheduled"], current=3)
    run = apply_bounce(run, bounce(1, "temporary"), max_bounces=5, auto_restart_hours=6, now=NOW).run
    run = apply_bounce(
        run, bounce(2, "mailbox_unknown", "b2"), max_bounces=5, auto_restart_hours=6, now=NOW
    ).run
    assert run.auto_restart_at is None
    assert not auto_restart(run, NOW + timedelta(days=30)).changed
