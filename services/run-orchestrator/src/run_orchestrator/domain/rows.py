"""A run's rows as plain objects (their fields are the columns of ``models``), and ``StoredRun``, which
turns a run's rows into the ``Run`` the rules take and writes the decided ``Run`` back onto them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from run_orchestrator.domain.rules import (
    Pause,
    Run,
    RunStatus,
    Step,
    StepStatus,
    Stop,
    TransitionKind,
    plan_steps,
)
from seevee_shared.events import Category, RunCause
from seevee_shared.ids import name_id


def recipient_key(recipient: str) -> str:
    """Runs to the same recipient find each other whatever the case or stray spaces."""
    return recipient.strip().lower()


_EVENT_IDS = uuid.UUID("6a1f0d3e-2b7c-5e48-9d15-3c8e7b2a4f60")


def lifecycle_event_id(cause_event_id: str, run_id: str, kind: TransitionKind) -> str:
    """The id of the lifecycle event an incoming event causes: the same however often it is applied."""
    return name_id(_EVENT_IDS, f"{cause_event_id}:{run_id}:{kind}")


# The rows, as plain objects (their fields are the columns of ``models``).


@dataclass(slots=True)
class RunRow:
    run_id: str
    workspace_id: str
    contact_id: str
    thread_id: str
    recipient: str
    recipient_key: str
    sender_mailbox: str
    status: str
    current_step: int
    created_at: datetime
    updated_at: datetime
    bounce_count: int = 0
    pause_step: int | None = None
    pause_cause: str | None = None
    pause_bounce_id: str | None = None
    pause_category: str | None = None
    pause_reason: str | None = None
    pause_at: datetime | None = None
    stop_cause: str | None = None
    stop_bounce_id: str | None = None
    stop_at: datetime | None = None
    auto_restart_at: datetime | None = None
    auto_restarts: int = 0


@dataclass(slots=True)
class StepRow:
    run_id: str
    step: int
    delay_hours: float
    status: str
    due_at: datetime | None = None
    sent_at: datetime | None = None
    message_id: str | None = None


@dataclass(slots=True)
class RunBounceRow:
    """A bounce a run counted: each counts once however often it arrives."""

    run_id: str
    bounce_id: str
    step: int
    category: str
    reason: str
    bounced_at: datetime


@dataclass
class StoredRun:
    """A run's row and its step rows (in step order), so a decision is written back whole."""

    record: RunRow
    steps: list[StepRow]

    def domain(self) -> Run:
        r = self.record
        pause = None
        if r.pause_step is not None and r.pause_cause is not None and r.pause_at is not None:
            pause = Pause(
                r.pause_step,
                cast(RunCause, r.pause_cause),
                r.pause_bounce_id,
                cast(Category | None, r.pause_category),
                r.pause_reason,
                r.pause_at,
            )
        stop = None
        if r.stop_cause is not None and r.stop_at is not None:
            stop = Stop(cast(RunCause, r.stop_cause), r.stop_bounce_id, r.stop_at)
        steps = [
            Step(s.step, s.delay_hours, cast(StepStatus, s.status), s.due_at, s.sent_at, s.message_id)
            for s in self.steps
        ]
        return Run(
            run_id=r.run_id,
            status=cast(RunStatus, r.status),
            current_step=r.current_step,
            steps=steps,
            pause=pause,
            stop=stop,
            bounce_count=r.bounce_count,
            auto_restart_at=r.auto_restart_at,
            auto_restarts=r.auto_restarts,
        )

    def apply(self, run: Run, now: datetime) -> list[StepRow]:
        """Copy a decided run onto the rows; returns the step rows that changed."""
        r, p, s = self.record, run.pause, run.stop
        r.status, r.current_step, r.bounce_count = run.status, run.current_step, run.bounce_count
        r.auto_restart_at, r.auto_restarts, r.updated_at = run.auto_restart_at, run.auto_restarts, now
        r.pause_step, r.pause_cause = (p.step, p.cause) if p else (None, None)
        r.pause_bounce_id, r.pause_category = (p.bounce_id, p.category) if p else (None, None)
        r.pause_reason, r.pause_at = (p.reason, p.at) if p else (None, None)
        r.stop_cause, r.stop_bounce_id, r.stop_at = (s.cause, s.bounce_id, s.at) if s else (None, None, None)
        changed = []
        for row, step in zip(self.steps, run.steps, strict=True):
            new = (step.status, step.due_at, step.sent_at, step.message_id)
            if (row.status, row.due_at, row.sent_at, row.message_id) != new:
                row.status, row.due_at, row.sent_at, row.message_id = new
                changed.append(row)
        return changed


def new_run(
    *,
    workspace_id: str,
    contact_id: str,
    thread_id: str,
    recipient: str,
    sender_mailbox: str,
    delays: list[float],
    start_at: datetime | None,
    now: datetime,
    run_id: str | None = None,
) -> StoredRun:
    """A new active run on its first step, due its delay after `start_at` (default now)."""
    record = RunRow(
        run_id=run_id or str(uuid.uuid4()),
        workspace_id=workspace_id,
        contact_id=contact_id,
        thread_id=thread_id,
        recipient=recipient,
        recipient_key=recipient_key(recipient),
        sender_mailbox=sender_mailbox,
        status="active",
        current_step=1,
        created_at=now,
        updated_at=now,
    )
    steps = [
        StepRow(record.run_id, s.step, s.delay_hours, s.status, s.due_at)
        for s in plan_steps(delays, start_at or now)
    ]
    return StoredRun(record, steps)
