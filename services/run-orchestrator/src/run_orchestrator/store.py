"""Loading runs from their tables into the domain and writing the domain's decisions back.

On a poll with a prefetch (see ``prefetch_bounced``), the runs, steps and counted bounces its events
need are loaded in one query per table and kept in ``poll_lookups``; the lookups below serve them from
there, filtering by the rows' current state, so nothing is read twice and nothing is flushed per event.
"""

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from run_orchestrator import run_events
from run_orchestrator.domain import Outcome, Pause, Run, RunStatus, Step, StepStatus, Stop, plan_steps
from run_orchestrator.models import RunBounceRecord, RunRecord, RunStepRecord
from seevee_shared.bus import outbox_add
from seevee_shared.bus.consumer import poll_lookups
from seevee_shared.cloudevents import CloudEvent
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
        p, s = run.pause, run.stop
        _assign(
            self.record,
            {
                "status": run.status,
                "current_step": run.current_step,
                "bounce_count": run.bounce_count,
                "auto_restart_at": run.auto_restart_at,
                "auto_restarts": run.auto_restarts,
                "updated_at": now,
                "pause_step": p.step if p else None,
                "pause_cause": p.cause if p else None,
                "pause_bounce_id": p.bounce_id if p else None,
                "pause_category": p.category if p else None,
                "pause_reason": p.reason if p else None,
                "pause_at": p.at if p else None,
                "stop_cause": s.cause if s else None,
                "stop_bounce_id": s.bounce_id if s else None,
                "stop_at": s.at if s else None,
            },
        )
        for row, step in zip(self.steps, run.steps, strict=True):
            _assign(
                row,
                {
                    "status": step.status,
                    "due_at": step.due_at,
                    "sent_at": step.sent_at,
                    "message_id": step.message_id,
                },
            )


def _assign(row: SQLModel, values: dict[str, Any]) -> None:
    """Set only what changed: an assignment through SQLModel costs far more than the comparison."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


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


def _run_key(workspace_id: str, run_id: str) -> Hashable:
    return ("run", workspace_id, run_id)


def _recipient_key(workspace_id: str, key: str) -> Hashable:
    return ("runs_to", workspace_id, key)


def _bounce_key(run_id: str, bounce_id: str) -> Hashable:
    return ("run_bounce", run_id, bounce_id)


async def prefetch_bounced(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """Load, row-locked, the runs a poll's bounces name, every run to the recipients of its dead
    mailboxes, their steps and the bounces already counted: one query per table and workspace.

    Runs to a recipient are loaded in every status and filtered when asked for, since a bounce earlier
    in the poll may change a run's status; consumers never create runs.
    """
    lookups = poll_lookups(session)
    if lookups is None:
        return
    wanted: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
    for event in events:
        run_id, bounce_id = event.data.get("run_id"), event.data.get("bounce_id")
        if isinstance(run_id, str) and isinstance(bounce_id, str):
            bounces, dead_runs = wanted.setdefault(event.workspaceid, (set(), set()))
            bounces.add((run_id, bounce_id))
            if event.data.get("category") == "mailbox_unknown":
                dead_runs.add(run_id)
    for workspace_id, (bounces, dead_runs) in wanted.items():
        run_ids = {run_id for run_id, _ in bounces}
        found = (
            await session.exec(
                select(RunRecord)
                .where(RunRecord.workspace_id == workspace_id, col(RunRecord.run_id).in_(run_ids))
                .order_by(col(RunRecord.run_id))
                .with_for_update()
            )
        ).all()
        keys = {r.recipient_key for r in found if r.run_id in dead_runs}
        siblings = (
            await session.exec(
                select(RunRecord)
                .where(RunRecord.workspace_id == workspace_id, col(RunRecord.recipient_key).in_(keys))
                .order_by(col(RunRecord.run_id))
                .with_for_update()
            )
        ).all()
        by_id = {record.run_id: record for record in [*found, *siblings]}
        stored = {run.record.run_id: run for run in await _with_steps(session, list(by_id.values()))}
        for run_id in run_ids:
            lookups[_run_key(workspace_id, run_id)] = stored.get(run_id)
        for key in keys:
            lookups[_recipient_key(workspace_id, key)] = []
        for record in sorted(siblings, key=lambda r: r.run_id):
            lookups[_recipient_key(workspace_id, record.recipient_key)].append(stored[record.run_id])
        known = {(run_id, bounce_id) for run_id, bounce_id in bounces if run_id in stored}
        for run_id, bounce_id in known:
            lookups[_bounce_key(run_id, bounce_id)] = None
        counted = await session.exec(
            select(RunBounceRecord).where(
                col(RunBounceRecord.run_id).in_({run_id for run_id, _ in known}),
                col(RunBounceRecord.bounce_id).in_({bounce_id for _, bounce_id in known}),
            )
        )
        for row in counted:
            lookups[_bounce_key(row.run_id, row.bounce_id)] = row


async def counted_bounce(session: AsyncSession, run_id: str, bounce_id: str) -> RunBounceRecord | None:
    lookups = poll_lookups(session)
    key = _bounce_key(run_id, bounce_id)
    if lookups is not None and key in lookups:
        found: RunBounceRecord | None = lookups[key]
        return found
    return await session.get(RunBounceRecord, (run_id, bounce_id))


def count_bounce(session: AsyncSession, row: RunBounceRecord) -> None:
    session.add(row)
    lookups = poll_lookups(session)
    if lookups is not None:
        lookups[_bounce_key(row.run_id, row.bounce_id)] = row


async def load_run(session: AsyncSession, workspace_id: str, run_id: str) -> StoredRun | None:
    """A run of this workspace with its steps, row-locked where the database supports it."""
    lookups = poll_lookups(session)
    key = _run_key(workspace_id, run_id)
    if lookups is not None and key in lookups:
        found: StoredRun | None = lookups[key]
        return found
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
    lookups = poll_lookups(session)
    key = _recipient_key(workspace_id, recipient_key(recipient))
    if lookups is not None and key in lookups:
        runs: list[StoredRun] = lookups[key]
        return [run for run in runs if run.record.status in statuses]
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
