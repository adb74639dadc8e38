"""When a recipient complains, stop every run of the workspace that still writes to them."""

from __future__ import annotations

from run_orchestrator import domain
from run_orchestrator.store import RunStore
from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import Cause, MessageComplained

LIVE = ("active", "paused")


async def on_message_complained(complaint: MessageComplained, meta: EventMeta, store: RunStore) -> None:
    now = utcnow()
    runs = await store.runs_to(meta.workspace_id, complaint.recipient, LIVE)
    if complaint.run_id is not None and all(r.record.run_id != complaint.run_id for r in runs):
        own = await store.run(meta.workspace_id, complaint.run_id)
        if own is not None:
            runs.append(own)
    for stored in runs:
        store.save(stored, domain.stop(stored.domain(), Cause.COMPLAINT, now), now, meta.id)
