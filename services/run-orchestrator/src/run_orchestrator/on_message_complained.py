"""When a recipient complains, stop every run of the workspace that still writes to them."""

from sqlmodel.ext.asyncio.session import AsyncSession

from run_orchestrator.domain import stop
from run_orchestrator.store import load_run, runs_to_recipient, save
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import MessageComplained

LIVE = ["active", "paused"]


async def on_message_complained(session: AsyncSession, event: CloudEvent) -> None:
    complaint = event.data_as(MessageComplained)
    now = utcnow()
    runs = await runs_to_recipient(session, event.workspaceid, complaint.recipient, LIVE)
    if complaint.run_id is not None and all(r.record.run_id != complaint.run_id for r in runs):
        own = await load_run(session, event.workspaceid, complaint.run_id)
        if own is not None:
            runs.append(own)
    for stored in runs:
        save(session, stored, stop(stored.domain(), "complaint", now), now)
