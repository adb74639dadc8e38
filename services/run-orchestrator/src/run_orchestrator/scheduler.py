"""The scheduler: emits `run.step_due` for every due step exactly once, and performs soft-bounce restarts.

A step is claimed by a conditional update (scheduled → due, only while its run is active) in the same
transaction as its outbox row, so of any number of replicas sharing the store exactly one claims it,
and a restart never re-emits a claimed step. On PostgreSQL the candidates are row-locked with
SKIP LOCKED so replicas split the work instead of waiting on each other.
"""

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from run_orchestrator import run_events
from run_orchestrator.domain import auto_restart
from run_orchestrator.models import RunRecord, RunStepRecord
from run_orchestrator.settings import RunSettings
from run_orchestrator.store import load_runs, save
from seevee_shared.bus import outbox_add
from seevee_shared.db import Database, utcnow
from seevee_shared.logging import get_logger

log = get_logger(__name__)


async def run_scheduler(db: Database, settings: Any) -> None:
    """Background loop handed to the service; runs until cancelled."""
    assert isinstance(settings, RunSettings)
    while True:
        try:
            await emit_due_steps(db, utcnow(), settings.scheduler_batch_size)
            await restart_soft_bounced(db, utcnow(), settings.scheduler_batch_size)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler pass failed; retrying at the next tick")
        await asyncio.sleep(settings.scheduler_interval_seconds)


async def emit_due_steps(db: Database, now: datetime, batch_size: int = 500) -> int:
    """Claim and announce the due steps; returns how many this caller claimed."""
    claimed = 0
    while True:
        batch = await _claim_batch(db, now, batch_size)
        claimed += batch
        if batch < batch_size:
            return claimed


async def _claim_batch(db: Database, now: datetime, batch_size: int) -> int:
    claimed = 0
    async with db.transaction() as session:
        candidates = (
            select(RunStepRecord.run_id, RunStepRecord.step, RunStepRecord.due_at)
            .join(RunRecord, col(RunRecord.run_id) == col(RunStepRecord.run_id))
            .where(
                RunRecord.status == "active",
                col(RunStepRecord.step) == col(RunRecord.current_step),
                RunStepRecord.status == "scheduled",
                col(RunStepRecord.due_at) <= now,
            )
            .order_by(col(RunStepRecord.due_at))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        rows = (await session.exec(candidates)).all()
        for run_id, step, due_at in rows:
            still_active = select(RunRecord.run_id).where(
                RunRecord.run_id == run_id, RunRecord.status == "active"
            )
            claim = (
                update(RunStepRecord)
                .where(
                    col(RunStepRecord.run_id) == run_id,
                    col(RunStepRecord.step) == step,
                    col(RunStepRecord.status) == "scheduled",
                    col(RunStepRecord.run_id).in_(still_active),
                )
                .values(status="due")
            )
            if (await session.exec(claim)).rowcount != 1:
                continue
            record = await session.get(RunRecord, run_id)
            if record is None or due_at is None:
                continue
            record.updated_at = now
            outbox_add(session, run_events.step_due(record, step, due_at))
            claimed += 1
    if claimed:
        log.info("steps due", count=claimed)
    return claimed


async def restart_soft_bounced(db: Database, now: datetime, batch_size: int = 500) -> int:
    """The one automatic restart of runs paused by a temporary bounce, once their wait is over."""
    async with db.transaction() as session:
        query = (
            select(RunRecord)
            .where(RunRecord.status == "paused", col(RunRecord.auto_restart_at) <= now)
            .order_by(col(RunRecord.auto_restart_at))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        stored_runs = await load_runs(session, (await session.exec(query)).all())
        restarted = 0
        for stored in stored_runs:
            outcome = auto_restart(stored.domain(), now)
            save(session, stored, outcome, now)
            restarted += outcome.changed
    return restarted
