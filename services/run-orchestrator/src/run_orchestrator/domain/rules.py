"""The rules of a run, as pure functions over plain values (no I/O, no clock: callers pass `now`).

A run is a sequence of steps sent to one recipient. Only the current step of an active run is ever
due; `message.sent` moves the run forward, a bounce pauses it on the bounced step, a stop is final.
Every rule returns a new `Run` plus the lifecycle `Transition` to announce, if any.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from seevee_shared.events import BounceCategory, Category, Cause, RunCause

RunStatus = Literal["active", "paused", "stopped", "completed"]
StepStatus = Literal["scheduled", "due", "sent", "bounced", "cancelled"]
TransitionKind = Literal["paused", "resumed", "stopped"]

RUN_STATUSES: tuple[RunStatus, ...] = ("active", "paused", "stopped", "completed")
FINAL_STATUSES: frozenset[RunStatus] = frozenset({"stopped", "completed"})


class NotPausedError(Exception):
    """Only a paused run can be restarted."""


@dataclass
class Step:
    step: int
    delay_hours: float
    status: StepStatus = "scheduled"
    due_at: datetime | None = None
    sent_at: datetime | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class Pause:
    step: int
    cause: RunCause
    bounce_id: str | None
    category: Category | None
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class Stop:
    cause: RunCause
    bounce_id: str | None
    at: datetime


@dataclass
class Run:
    run_id: str
    status: RunStatus
    current_step: int
    steps: list[Step]
    pause: Pause | None = None
    stop: Stop | None = None
    bounce_count: int = 0
    auto_restart_at: datetime | None = None
    auto_restarts: int = 0

    def step_at(self, number: int) -> Step | None:
        return self.steps[number - 1] if 1 <= number <= len(self.steps) else None


@dataclass(frozen=True)
class Bounce:
    """What the run needs to know of a `message.bounced`."""

    bounce_id: str
    step: int
    category: Category
    reason: str
    bounced_at: datetime


@dataclass(frozen=True)
class Transition:
    """A lifecycle change to announce as `run.paused` / `run.resumed` / `run.stopped`."""

    kind: TransitionKind
    step: int
    cause: RunCause
    bounce_id: str | None
    at: datetime


@dataclass(frozen=True)
class Outcome:
    run: Run
    transition: Transition | None = None
    changed: bool = field(default=True)


def _copied(run: Run) -> Run:
    """A run whose steps a rule may change without touching the original (pause and stop are frozen)."""
    steps = [Step(s.step, s.delay_hours, s.status, s.due_at, s.sent_at, s.message_id) for s in run.steps]
    return Run(
        run.run_id,
        run.status,
        run.current_step,
        steps,
        run.pause,
        run.stop,
        run.bounce_count,
        run.auto_restart_at,
        run.auto_restarts,
    )


def next_due_at(sent_at: datetime, delay_hours: float) -> datetime:
    """A step is due its delay after the previous step went out (the first: after the start)."""
    return sent_at + timedelta(hours=delay_hours)


def plan_steps(delays: list[float], start_at: datetime) -> list[Step]:
    """Only the first step gets a due time up front; each later one is timed when its predecessor is sent."""
    steps = [Step(step=number, delay_hours=delay) for number, delay in enumerate(delays, start=1)]
    steps[0].due_at = next_due_at(start_at, delays[0])
    return steps


def due_step(run: Run, now: datetime) -> Step | None:
    """The step the scheduler may claim now: the current, still scheduled step of an active run."""
    if run.status != "active":
        return None
    step = run.step_at(run.current_step)
    if step is None or step.status != "scheduled" or step.due_at is None or step.due_at > now:
        return None
    return step


def record_sent(run: Run, step_number: int, message_id: str, sent_at: datetime) -> Outcome:
    """Mark a step sent; an active run moves on to the next step, or completes after the last one.

    A repeated `message.sent` changes nothing. A send reported for a step that is not in flight (a
    later step, or one rescheduled by a restart) is stale and ignored. A step that bounced before its
    `message.sent` arrived keeps its bounced status but records the send.
    """
    new = _copied(run)
    step = new.step_at(step_number)
    if step is None or step.message_id == message_id:
        return Outcome(run, changed=False)
    if step.status == "bounced" and step.message_id is None:
        step.sent_at, step.message_id = sent_at, message_id
        return Outcome(new)
    in_flight = step.status == "due" or (
        step.status == "scheduled" and new.status == "active" and step_number == new.current_step
    )
    if step.status == "cancelled" or in_flight:
        step.status, step.sent_at, step.message_id = "sent", sent_at, message_id
    else:
        return Outcome(run, changed=False)
    if new.status == "active" and step_number == new.current_step:
        following = new.step_at(step_number + 1)
        if following is None:
            new.status = "completed"
        else:
            following.due_at = next_due_at(sent_at, following.delay_hours)
            new.current_step = following.step
    return Outcome(new)


def apply_bounce(
    run: Run, bounce: Bounce, *, max_bounces: int, auto_restart_hours: float | None, now: datetime
) -> Outcome:
    """A bounce of one of the run's own steps: pause on that step, or stop once the bounces reach the limit.

    A late bounce (the next step already went out) still pauses the run, on the step that bounced; a run
    already paused keeps the earliest bounced step. A stopped run only records the bounce.
    """
    new = _copied(run)
    step = new.step_at(bounce.step)
    if step is None:
        return Outcome(run, changed=False)
    step.status = "bounced"
    new.bounce_count += 1
    if new.status == "stopped":
        return Outcome(new)
    if new.bounce_count >= max_bounces:
        return _stop(new, Cause.POLICY, bounce.bounce_id, now)
    pause = Pause(bounce.step, Cause.BOUNCE, bounce.bounce_id, bounce.category, bounce.reason, now)
    if bounce.category != BounceCategory.TEMPORARY:
        new.auto_restart_at = None
    elif new.status != "paused" and auto_restart_hours is not None and new.auto_restarts == 0:
        new.auto_restart_at = bounce.bounced_at + timedelta(hours=auto_restart_hours)
    if new.status == "paused" and new.pause is not None and new.pause.step < bounce.step:
        return Outcome(new)
    moved = new.status != "paused" or new.pause is None or new.pause.step != bounce.step
    new.status, new.pause, new.current_step = "paused", pause, bounce.step
    if not moved:
        return Outcome(new)
    return Outcome(new, Transition("paused", bounce.step, Cause.BOUNCE, bounce.bounce_id, now))


def pause_sibling(run: Run, bounce: Bounce, now: datetime) -> Outcome:
    """Another run's `mailbox_unknown` bounce to the same recipient pauses this active run where it is."""
    if run.status != "active":
        return Outcome(run, changed=False)
    new = _copied(run)
    new.status = "paused"
    new.pause = Pause(new.current_step, Cause.BOUNCE, bounce.bounce_id, bounce.category, bounce.reason, now)
    return Outcome(new, Transition("paused", new.current_step, Cause.BOUNCE, bounce.bounce_id, now))


def stop(run: Run, cause: RunCause, now: datetime, bounce_id: str | None = None) -> Outcome:
    """Stop for good: nothing scheduled or due is ever emitted again. A finished run is left unchanged."""
    if run.status in FINAL_STATUSES:
        return Outcome(run, changed=False)
    return _stop(_copied(run), cause, bounce_id, now)


def _stop(new: Run, cause: RunCause, bounce_id: str | None, now: datetime) -> Outcome:
    for step in new.steps:
        if step.status in ("scheduled", "due"):
            step.status = "cancelled"
    new.status, new.auto_restart_at = "stopped", None
    new.stop = Stop(cause, bounce_id, now)
    return Outcome(new, Transition("stopped", new.current_step, cause, bounce_id, now))


def restart(run: Run, at: datetime, cause: RunCause, now: datetime) -> Outcome:
    """Resume a paused run at the step it paused on (re-sending it), due at `at`.

    The steps after it are replayed in order. When the paused step went out after all (a sibling run
    paused while its step was in flight), the run resumes with the step after it.
    """
    if run.status != "paused":
        raise NotPausedError(f"run is {run.status}")
    new = _copied(run)
    resume = new.pause.step if new.pause is not None else new.current_step
    paused_step = new.step_at(resume)
    if paused_step is not None and paused_step.status == "sent":
        resume += 1
    bounce_id = new.pause.bounce_id if new.pause is not None else None
    new.pause, new.auto_restart_at = None, None
    if resume > len(new.steps):
        new.status = "completed"
        return Outcome(new, Transition("resumed", len(new.steps), cause, bounce_id, now))
    for step in new.steps[resume - 1 :]:
        step.status, step.due_at, step.sent_at, step.message_id = "scheduled", None, None, None
    new.steps[resume - 1].due_at = at
    new.status, new.current_step = "active", resume
    return Outcome(new, Transition("resumed", resume, cause, bounce_id, now))


def auto_restart(run: Run, now: datetime) -> Outcome:
    """The one automatic restart after a temporary bounce, once its waiting time has passed."""
    if run.status != "paused" or run.auto_restart_at is None or run.auto_restart_at > now:
        return Outcome(run, changed=False)
    outcome = restart(run, now, Cause.POLICY, now)
    outcome.run.auto_restarts += 1
    return outcome
