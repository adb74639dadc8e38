"""The scheduler: emits `run.step_due` for every due step exactly once, and performs soft-bounce restarts.

A step is claimed by a conditional update (scheduled -> due, only while its run is active) in the same
transaction as its outbox row (``RunStore.claim_due``), so of any number of replicas sharing the store
exactly one claims it, and a restart never re-emits a claimed step.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from run_orchestrator import domain
from run_orchestrator.settings import RunSettings
from run_orchestrator.store import RunStore
from seevee_shared.db import Database, utcnow
from seevee_shared.logging import get_logger
from seevee_shared.store import SqlRows

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
        async with db.transaction() as session:
            store = RunStore(SqlRows(await session.connection()))
            batch = await store.claim_due(now, batch_size)
            await store.write()
        if batch:
            log.info("steps due", count=batch)
        claimed += batch
        if batch < batch_size:
            return claimed


async def restart_soft_bounced(db: Database, now: datetime, batch_size: int = 500) -> int:
    """The one automatic restart of runs paused by a temporary bounce, once their wait is over."""
    async with db.transaction() as session:
        store = RunStore(SqlRows(await session.connection()))
        restarted = 0
        for stored in await store.soft_bounced(now, batch_size):
            outcome = domain.auto_restart(stored.domain(), now)
            store.save(stored, outcome, now)
            restarted += outcome.changed
        await store.write()
    return restarted
