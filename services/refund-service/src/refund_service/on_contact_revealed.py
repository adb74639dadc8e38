"""contact.revealed: remember the reveal, then apply any bounce of its address that arrived first."""

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.domain.eligibility import domain_of
from refund_service.employer_spikes import SpikeRules, flag_employer_if_spiking
from refund_service.models import RefundBounce, RefundReveal
from refund_service.refunds import EligibilityRules, apply_bounce
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed


@dataclass(frozen=True)
class OnContactRevealed:
    eligibility: EligibilityRules
    spikes: SpikeRules

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(ContactRevealed)
        workspace_id = event.workspaceid
        existing = (
            await session.exec(
                select(RefundReveal.id).where(
                    RefundReveal.workspace_id == workspace_id, RefundReveal.reveal_id == data.reveal_id
                )
            )
        ).first()
        if existing is not None:
            return  # a reveal never changes; a replay has nothing to add
        reveal = RefundReveal(
            workspace_id=workspace_id,
            reveal_id=data.reveal_id,
            contact_id=data.contact_id,
            email=data.email.strip(),
            email_key=data.email.strip().lower(),
            first_name=data.first_name,
            last_name=data.last_name,
            employer_domain=domain_of(data.employer_domain),
            employer_name=data.employer_name,
            credits=data.credits,
            recommended=data.recommended,
            revealed_at=data.revealed_at,
        )
        session.add(reveal)
        waiting = (
            await session.exec(
                select(RefundBounce)
                .where(
                    RefundBounce.workspace_id == workspace_id,
                    RefundBounce.contact_id == data.contact_id,
                    RefundBounce.recipient_key == reveal.email_key,
                    col(RefundBounce.reveal_id).is_(None),
                )
                .order_by(col(RefundBounce.bounced_at))
            )
        ).all()
        for bounce in waiting:
            await apply_bounce(session, reveal, bounce, self.eligibility)
        await session.flush()
        for bounce in waiting:
            if bounce.category == "mailbox_unknown":
                await flag_employer_if_spiking(
                    session, workspace_id, reveal.employer_domain, bounce.bounced_at, self.spikes
                )
