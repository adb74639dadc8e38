"""Bounces whose ``message.sent`` never came: after the wait, one last look, then ``bounce.unmatched``."""

import asyncio
from datetime import datetime, timedelta

from bounce_ingest import events_out
from bounce_ingest.domain import facts_of, keys_of_bounce, keys_of_complaint, matched_columns, settle
from bounce_ingest.models import BOUNCE_UNMATCHED
from bounce_ingest.settings import IngestSettings
from bounce_ingest.store import IngestStore
from seevee_shared.db import Database, utcnow
from seevee_shared.logging import get_logger
from seevee_shared.store import SqlRows

log = get_logger(__name__)

SWEEP_BATCH = 500


async def release_due(store: IngestStore, now: datetime, wait: timedelta) -> int:
    """Settle waiting rows older than the wait (written at the store's ``write``); returns how many.

    Correlation runs once more first: a ``message.sent`` committed alongside the bounce may have missed it.
    Rows another replica is settling are skipped.
    """
    cutoff = now - wait
    due_bounces = await store.due_bounces(cutoff, SWEEP_BATCH)
    bounce_matches = await store.matches([keys_of_bounce(bounce) for bounce in due_bounces])
    for bounce, match in zip(due_bounces, bounce_matches, strict=True):
        if match is not None:
            settle(bounce, matched_columns(match))
            store.publish(events_out.bounced(facts_of(bounce), match))
        else:
            bounce.status = BOUNCE_UNMATCHED
            store.publish(events_out.unmatched(facts_of(bounce), bounce.workspace_scope))
        store.changed(bounce)
    due_complaints = await store.due_complaints(cutoff, SWEEP_BATCH)
    complaint_matches = await store.matches([keys_of_complaint(complaint) for complaint in due_complaints])
    for complaint, match in zip(due_complaints, complaint_matches, strict=True):
        if match is not None:
            settle(complaint, matched_columns(match, with_step=False))
            store.publish(events_out.complained(complaint, match))
        else:
            # No topic carries an unresolved complaint: it stays stored, a late message.sent still matches.
            complaint.status = BOUNCE_UNMATCHED
        store.changed(complaint)
    return len(due_bounces) + len(due_complaints)


async def sweep_unmatched(db: Database, settings: IngestSettings) -> None:
    """Background task: settle due rows every ``UNMATCHED_SWEEP_SECONDS`` until cancelled."""
    wait = timedelta(seconds=settings.unmatched_wait_seconds)
    while True:
        try:
            while True:
                async with db.transaction() as session:
                    store = IngestStore(SqlRows(await session.connection()))
                    settled = await release_due(store, utcnow(), wait)
                    await store.write()
                if settled < SWEEP_BATCH:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the store is away: the next sweep tries again, nothing is lost
            log.warning("unmatched sweep failed", error=repr(exc))
        await asyncio.sleep(settings.unmatched_sweep_seconds)
