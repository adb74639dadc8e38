"""Loading runs from their tables into the domain and writing the domain's decisions back."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from run_orchestrator import run_events
from run_orchestrator.domain import Outcome, Pause, Run, RunStatus, Step, StepStatus, Stop, plan_steps
from run_orchestrator.models import RunRecord, RunStepRecord
from seevee_shared.bus import outbox_add
from seevee_shared.events import Category, RunCause


@dataclass
class StoredRun:
    """A run's row and its step rows, loaded together so a decision can be written back whole."""

    record: RunRecord
    steps: list[RunStepRecord]

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

    def apply(self, run: Run, now: datetime) -> None:
        """Copy a decided run onto the rows (the session flushes them with the transaction)."""
        r = self.record
        r.status, r.current_step, r.bounce_count = run.status, run.current_step, run.bounce_count
        r.auto_restart_at, r.auto_restarts, r.updated_at = run.auto_restart_at, run.auto_restarts, now
        p = run.pause
        r.pause_step = p.step if p else None
        r.pause_cause = p.cause if p else None
        r.pause_bounce_id = p.bounce_id if p else None
        r.pause_category = p.category if p else None
        r.pause_reason = p.reason if p else None
        r.pause_at = p.at if p else None
        s = run.stop
        r.stop_cause = s.cause if s else None
        r.stop_bounce_id = s.bounce_id if s else None
        r.stop_at = s.at if s else None
        for row, step in zip(self.steps, run.steps, strict=True):
            row.status, row.due_at, row.sent_at, row.message_id = (
                step.status,
                step.due_at,
                step.sent_at,
                step.message_id,
            )


async def add_run(
    session: AsyncSession,
    *,
    workspace_id: str,
    contact_id: str,
    thread_id: str,
    recipient: str,
    sender_mailbox: str,
    delays: list[float],
    start_at: datetime | None,
    now: datetime,
) -> StoredRun:
    """A new active run on its first step, due its delay after `start_at` (default now)."""
    record = RunRecord(
        run_id=str(uuid.uuid4()),
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
    session.add(record)
    await session.flush()
    steps = [
        RunStepRecord(
            run_id=record.run_id, step=s.step, delay_hours=s.delay_hours, status=s.status, due_at=s.due_at
        )
        for s in plan_steps(delays, start_at or now)
    ]
    session.add_all(steps)
    return StoredRun(record, steps)


def save(session: AsyncSession, stored: StoredRun, outcome: Outcome, now: datetime) -> None:
    """Write a decision and, in the same transaction, queue the lifecycle event it announces."""
    if not outcome.changed:
        return
    stored.apply(outcome.run, now)
    if outcome.transition is not None:
        outbox_add(session, run_events.lifecycle(stored.record, outcome.transition))


async def load_run(session: AsyncSession, workspace_id: str, run_id: str) -> StoredRun | None:
    """A run of this workspace with its steps, row-locked where the database supports it."""
    query = (
        select(RunRecord)
        .where(RunRecord.run_id == run_id, RunRecord.workspace_id == workspace_id)
        .with_for_update()
    )
    record = (await session.exec(query)).first()
    if record is None:
        return None
    return (await _with_steps(session, [record]))[0]


async def load_runs(session: AsyncSession, records: Sequence[RunRecord]) -> list[StoredRun]:
    return await _with_steps(session, records)


async def runs_to_recipient(
    session: AsyncSession, workspace_id: str, recipient: str, statuses: Sequence[str]
) -> list[StoredRun]:
    """The workspace's runs to one recipient (case-insensitive) in the given statuses."""
    query = (
        select(RunRecord)
        .where(
            RunRecord.workspace_id == workspace_id,
            RunRecord.recipient_key == recipient_key(recipient),
            col(RunRecord.status).in_(statuses),
        )
        .order_by(col(RunRecord.run_id))
        .with_for_update()
    )
    records = (await session.exec(query)).all()
    return await _with_steps(session, records)


def recipient_key(recipient: str) -> str:
    return recipient.strip().lower()


async def _with_steps(session: AsyncSession, records: Sequence[RunRecord]) -> list[StoredRun]:
    if not records:
        return []
    ids = [r.run_id for r in records]
    query = (
        select(RunStepRecord)
        .where(col(RunStepRecord.run_id).in_(ids))
        .order_by(col(RunStepRecord.run_id), col(RunStepRecord.step))
    )
    by_run: dict[str, list[RunStepRecord]] = {run_id: [] for run_id in ids}
    for step in (await session.exec(query)).all():
        by_run[step.run_id].append(step)
    return [StoredRun(record, by_run[record.run_id]) for record in records]
