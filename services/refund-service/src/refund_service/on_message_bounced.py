"""Reaction to `message.bounced`: record the bounce, update the refund of the revealed address,
watch the employer."""

from refund_service.domain.rows import Bounce
from refund_service.refunds import EligibilityRules, SpikeRules, apply_bounce, flag_employer_if_spiking, match
from refund_service.store import RefundStore, recipient_key
from seevee_shared.bus import EventMeta
from seevee_shared.events import MessageBounced
from seevee_shared.logging import get_logger

log = get_logger(__name__)


async def on_message_bounced(
    bounced: MessageBounced,
    meta: EventMeta,
    store: RefundStore,
    *,
    eligibility: EligibilityRules,
    spikes: SpikeRules,
) -> None:
    workspace_id = meta.workspace_id
    if await store.bounce_stored(workspace_id, bounced.bounce_id):
        log.debug("bounce already stored", bounce_id=bounced.bounce_id)
        return  # the same bounce again (a provider retry under a new event id) changes nothing
    bounce = Bounce(
        workspace_id=workspace_id,
        bounce_id=bounced.bounce_id,
        contact_id=bounced.contact_id,
        recipient_key=recipient_key(bounced.recipient),
        category=bounced.category,
        reason=bounced.reason,
        bounced_at=bounced.bounced_at,
    )
    reveals = await store.reveals_of(workspace_id, bounce.contact_id, bounce.recipient_key)
    reveal = match(reveals, bounce)
    store.add_bounce(bounce)
    if reveal is None:
        log.debug("bounce kept unmatched", bounce_id=bounce.bounce_id)
        return  # kept unmatched: its contact.revealed may still be on its way
    record = await store.refund_of(workspace_id, reveal.reveal_id)
    await apply_bounce(store, reveal, record, bounce, eligibility)
    await flag_employer_if_spiking(store, bounce, spikes)
