"""Reaction to `contact.revealed`: remember the reveal, then apply any bounce of its address that
arrived first (the bounce's use case, from ``on_message_bounced``)."""

from refund_service.domain.eligibility import domain_of
from refund_service.domain.rows import Refund, Reveal
from refund_service.on_message_bounced import (
    EligibilityRules,
    SpikeRules,
    apply_bounce,
    flag_employer_if_spiking,
)
from refund_service.store import RefundStore
from seevee_shared.bus import EventMeta
from seevee_shared.events import ContactRevealed


async def on_contact_revealed(
    revealed: ContactRevealed,
    meta: EventMeta,
    store: RefundStore,
    *,
    rules: EligibilityRules,
    spikes: SpikeRules,
) -> None:
    workspace_id = meta.workspace_id
    if await store.reveal_known(workspace_id, revealed.reveal_id):
        return  # a reveal never changes; a replay has nothing to add
    email_key = revealed.email.strip().lower()
    waiting = await store.waiting_bounces(workspace_id, revealed.contact_id, email_key)
    reveal = Reveal(
        workspace_id=workspace_id,
        reveal_id=revealed.reveal_id,
        contact_id=revealed.contact_id,
        email=revealed.email.strip(),
        email_key=email_key,
        first_name=revealed.first_name,
        last_name=revealed.last_name,
        employer_domain=domain_of(revealed.employer_domain),
        employer_name=revealed.employer_name,
        credits=revealed.credits,
        recommended=revealed.recommended,
        revealed_at=revealed.revealed_at,
    )
    store.add_reveal(reveal)
    record: Refund | None = None  # a new reveal has no refund record yet
    for bounce in waiting:
        record = await apply_bounce(store, reveal, record, bounce, rules)
    for bounce in waiting:
        await flag_employer_if_spiking(store, bounce, spikes)
