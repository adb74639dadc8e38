"""When a run's message is sent, mark the step sent and time the next one (or complete the run)."""

from sqlmodel.ext.asyncio.session import AsyncSession

from run_orchestrator.domain import record_sent
from run_orchestrator.store import load_run, save
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import MessageSent
from seevee_shared.logging import get_logger

log = get_logger(__name__)


async def on_message_sent(session: AsyncSession, event: CloudEvent) -> None:
    sent = event.data_as(MessageSent)
    if sent.run_id is None or sent.run_step is None:
        return
    stored = await load_run(session, event.workspaceid, sent.run_id)
    if stored is None:
        log.info("message.sent for a run we do not know", run_id=sent.run_id, event_id=event.id)
        return
    outcome = record_sent(stored.domain(), sent.run_step, sent.message_id, sent.sent_at)
    save(session, stored, outcome, utcnow())
