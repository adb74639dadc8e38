"""message.bounced: record the bounce, update the refund of the revealed address, watch the employer."""

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.employer_spikes import SpikeRules, flag_employer_if_spiking
from refund_service.models import RefundBounce
from refund_service.refunds import EligibilityRules, apply_bounce, reveal_for_bounce
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageBounced


@dataclass(frozen=True)
class OnMessageBounced:
    eligibility: EligibilityRules
    spikes: SpikeRules

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(MessageBounced)
        workspace_id = event.workspaceid
        existing = (
            await session.exec(
                select(RefundBounce.id).where(
                    RefundBounce.workspace_id == workspace_id, RefundBounce.bounce_id == data.bounce_id
                )
            )
        ).first()
        if existing is not None:
            return  # the same bounce again (a provider retry under a new event id) changes nothing
        bounce = RefundBounce(
            workspace_id=workspace_id,
            bounce_id=data.bounce_id,
            contact_id=data.contact_id,
            recipient_key=data.recipient.strip().lower(),
            category=data.category,
            reason=data.reason,
            bounced_at=data.bounced_at,
        )
        session.add(bounce)
        reveal = await reveal_for_bounce(session, bounce)
        if reveal is None:
            return  # kept unmatched: its contact.revealed may still be on its way
        await apply_bounce(session, reveal, bounce, self.eligibility)
        await session.flush()
        if bounce.category == "mailbox_unknown":
            await flag_employer_if_spiking(
                session, workspace_id, reveal.employer_domain, bounce.bounced_at, self.spikes
            )
