"""Bounces whose ``message.sent`` never came: after the wait, one last look, then ``bounce.unmatched``."""

import asyncio
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bounce_ingest import events_out
from bounce_ingest.correlation import find_matches, keys_of_bounce, keys_of_complaint
from bounce_ingest.domain import facts_of, matched_columns, settle
from bounce_ingest.models import BOUNCE_PENDING, BOUNCE_UNMATCHED, IngestBounce, IngestComplaint
from bounce_ingest.settings import IngestSettings
from seevee_shared.bus import outbox_add
from seevee_shared.db import Database, utcnow
from seevee_shared.logging import get_logger

log = get_logger(__name__)

SWEEP_BATCH = 500


async def release_due(session: AsyncSession, now: datetime, wait: timedelta) -> int:
    """Settle waiting rows older than the wait; returns how many were settled.

    Correlation runs once more first: a ``message.sent`` committed alongside the bounce may have missed it.
    Rows another replica is settling are skipped (PostgreSQL; SQLite serializes writers anyway).
    """
    cutoff = now - wait
    settled = 0
    bounces = await session.exec(
        select(IngestBounce)
        .where(IngestBounce.status == BOUNCE_PENDING, col(IngestBounce.received_at) <= cutoff)
        .order_by(col(IngestBounce.received_at))
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    due_bounces = list(bounces.all())
    bounce_matches = await find_matches(
        await session.connection(), [keys_of_bounce(bounce) for bounce in due_bounces]
    )
    for bounce, match in zip(due_bounces, bounce_matches, strict=True):
        if match is not None:
            settle(bounce, matched_columns(match))
            outbox_add(session, events_out.bounced(facts_of(bounce), match))
        else:
            bounce.status = BOUNCE_UNMATCHED
            outbox_add(session, events_out.unmatched(facts_of(bounce), bounce.workspace_scope))
        session.add(bounce)
        settled += 1
    complaints = await session.exec(
        select(IngestComplaint)
        .where(IngestComplaint.status == BOUNCE_PENDING, col(IngestComplaint.received_at) <= cutoff)
        .order_by(col(IngestComplaint.received_at))
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    due_complaints = list(complaints.all())
    complaint_matches = await find_matches(
        await session.connection(), [keys_of_complaint(complaint) for complaint in due_complaints]
    )
    for complaint, match in zip(due_complaints, complaint_matches, strict=True):
        if match is not None:
            settle(complaint, matched_columns(match, with_step=False))
            outbox_add(session, events_out.complained(complaint, match))
        else:
            # No topic carries an unresolved complaint: it stays stored, a late message.sent still matches.
            complaint.status = BOUNCE_UNMATCHED
            session.add(complaint)
        settled += 1
    return settled


async def sweep_unmatched(db: Database, settings: IngestSettings) -> None:
    """Background task: settle due rows every ``UNMATCHED_SWEEP_SECONDS`` until cancelled."""
    wait = timedelta(seconds=settings.unmatched_wait_seconds)
    while True:
        try:
            while True:
                async with db.transaction() as session:
                    settled = await release_due(session, utcnow(), wait)
                if settled < SWEEP_BATCH:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the store is away: the next sweep tries again, nothing is lost
            log.warning("unmatched sweep failed", error=repr(exc))
        await asyncio.sleep(settings.unmatched_sweep_seconds)
