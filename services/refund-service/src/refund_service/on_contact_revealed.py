"""contact.revealed: remember the reveal, then apply any bounce of its address that arrived first."""

from dataclasses import dataclass

from sqlalchemy import and_, exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.domain.eligibility import domain_of
from refund_service.employer_spikes import SpikeRules, flag_employer_if_spiking
from refund_service.models import RefundBounce, RefundRecord, RefundReveal
from refund_service.refunds import EligibilityRules, apply_bounce
from refund_service.store import remember_reveal
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed


@dataclass(frozen=True)
class OnContactRevealed:
    eligibility: EligibilityRules
    spikes: SpikeRules

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(ContactRevealed)
        workspace_id = event.workspaceid
        email_key = data.email.strip().lower()
        known = select(
            exists()
            .where(
                col(RefundReveal.workspace_id) == workspace_id, col(RefundReveal.reveal_id) == data.reveal_id
            )
            .label("seen")
        ).subquery("known")
        # One query, flushing first what earlier events left pending: is the reveal known, and which
        # bounces of its address wait for it (none, when the answer is its single row with no bounce).
        rows = (
            await session.exec(
                select(known.c.seen, RefundBounce)
                .select_from(known)
                .outerjoin(
                    RefundBounce,
                    and_(
                        col(RefundBounce.workspace_id) == workspace_id,
                        col(RefundBounce.contact_id) == data.contact_id,
                        col(RefundBounce.recipient_key) == email_key,
                        col(RefundBounce.reveal_id).is_(None),
                    ),
                )
                .order_by(col(RefundBounce.bounced_at), col(RefundBounce.id))
            )
        ).all()
        if rows[0][0]:
            return  # a reveal never changes; a replay has nothing to add
        waiting = [bounce for _, bounce in rows if bounce is not None]
        reveal = RefundReveal(
            workspace_id=workspace_id,
            reveal_id=data.reveal_id,
            contact_id=data.contact_id,
            email=data.email.strip(),
            email_key=email_key,
            first_name=data.first_name,
            last_name=data.last_name,
            employer_domain=domain_of(data.employer_domain),
            employer_name=data.employer_name,
            credits=data.credits,
            recommended=data.recommended,
            revealed_at=data.revealed_at,
        )
        session.add(reveal)
        remember_reveal(session, reveal)  # a later bounce of the poll matches it without a query
        record: RefundRecord | None = None  # a new reveal has no refund record yet
        for bounce in waiting:
            record = await apply_bounce(session, reveal, record, bounce, self.eligibility)
        hard = [bounce for bounce in waiting if bounce.category == "mailbox_unknown"]
        if hard:
            await session.flush()  # the spike check counts the reveal and these bounces in the store
        for bounce in hard:
            await flag_employer_if_spiking(
                session, workspace_id, reveal.employer_domain, bounce.bounced_at, self.spikes
            )
