"""When a run's message is sent, mark the step sent and time the next one (or complete the run)."""

from __future__ import annotations

from run_orchestrator import domain
from run_orchestrator.store import RunStore
from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import MessageSent
from seevee_shared.logging import get_logger

log = get_logger(__name__)


async def on_message_sent(sent: MessageSent, meta: EventMeta, store: RunStore) -> None:
    """Sends that are not one of our runs' steps (other systems' sends) are ignored."""
    if sent.run_id is None or sent.run_step is None:
        return
    stored = await store.run(meta.workspace_id, sent.run_id)
    if stored is None:
        log.info("message.sent for a run we do not know", run_id=sent.run_id)
        return
    outcome = domain.record_sent(stored.domain(), sent.run_step, sent.message_id, sent.sent_at)
    store.save(stored, outcome, utcnow(), meta.id)
