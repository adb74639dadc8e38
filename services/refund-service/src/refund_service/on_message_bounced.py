"""message.bounced: record the bounce, update the refund of the revealed address, watch the employer."""

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.employer_spikes import SpikeRules, flag_employer_if_spiking
from refund_service.models import RefundBounce
from refund_service.refunds import EligibilityRules, apply_bounce, match_bounce
from refund_service.store import recipient_key, remember_bounce
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageBounced
from seevee_shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class OnMessageBounced:
    eligibility: EligibilityRules
    spikes: SpikeRules

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(MessageBounced)
        workspace_id = event.workspaceid
        bounce = RefundBounce(
            workspace_id=workspace_id,
            bounce_id=data.bounce_id,
            contact_id=data.contact_id,
            recipient_key=recipient_key(data.recipient),
            category=data.category,
            reason=data.reason,
            bounced_at=data.bounced_at,
        )
        # From the poll's prefetch, else one query that flushes first what earlier events left pending.
        match = await match_bounce(session, bounce)
        if match.seen:
            log.debug("bounce already stored", bounce_id=bounce.bounce_id)
            return  # the same bounce again (a provider retry under a new event id) changes nothing
        session.add(bounce)
        remember_bounce(session, bounce)
        if match.reveal is None:
            log.debug("bounce kept unmatched", bounce_id=bounce.bounce_id)
            return  # kept unmatched: its contact.revealed may still be on its way
        reveal = match.reveal
        await apply_bounce(session, reveal, match.record, bounce, self.eligibility)
        if bounce.category == "mailbox_unknown":  # the spike check flushes it when it counts
            await flag_employer_if_spiking(
                session, workspace_id, reveal.employer_domain, bounce.bounced_at, self.spikes
            )
