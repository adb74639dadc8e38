"""Reaction to `message.bounced`: record the bounce, update the refund of the revealed address, watch
the employer.

A bounce meets its reveal either here, when it arrives, or in ``on_contact_revealed`` when the reveal
comes second; both run the use case below (``apply_bounce``, ``flag_employer_if_spiking``). The rules
are the pure ``domain``; the rows are the store's.
"""

import uuid
from dataclasses import dataclass
from typing import cast

from refund_service import events_out
from refund_service.domain import eligibility, spike
from refund_service.domain.eligibility import SETTLED_STATUSES, Basis, Status
from refund_service.domain.rows import Bounce, Refund, Reveal, Spike
from refund_service.mail_hosts import MailHosts
from refund_service.store import HARD, RefundStore, recipient_key
from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced
from seevee_shared.ids import name_id
from seevee_shared.logging import get_logger

log = get_logger(__name__)
_REFUND_NAMESPACE = uuid.UUID("0b7e4f1c-2d3a-5e6f-8a9b-1c2d3e4f5a6b")


@dataclass(frozen=True)
class EligibilityRules:
    window_days: int
    hosts: MailHosts


@dataclass(frozen=True)
class SpikeRules:
    window_days: int
    min_contacts: int
    min_rate: float


def refund_id_for(workspace_id: str, reveal_id: str) -> str:
    """Deterministic, so a replayed reveal or bounce can only ever find the same record."""
    return name_id(_REFUND_NAMESPACE, f"{workspace_id}\x1f{reveal_id}")


def reveal_facts(reveal: Reveal) -> eligibility.Reveal:
    return eligibility.Reveal(reveal.email, reveal.first_name, reveal.last_name, reveal.revealed_at)


def bounce_facts(bounce: Bounce) -> eligibility.Bounce:
    return eligibility.Bounce(bounce.recipient_key, bounce.category, bounce.reason, bounce.bounced_at)


def match(reveals: list[Reveal], bounce: Bounce) -> Reveal | None:
    """The reveal a bounce hits: the latest made before it, else the earliest after it."""
    before = [reveal for reveal in reveals if reveal.revealed_at <= bounce.bounced_at]
    return before[-1] if before else (reveals[0] if reveals else None)


async def apply_bounce(
    store: RefundStore, reveal: Reveal, record: Refund | None, bounce: Bounce, rules: EligibilityRules
) -> Refund | None:
    """One refund record per reveal: created by its first bounce, moved only by a stronger basis.

    ``record`` is the reveal's record as it stands (None before its first bounce); returns it as it
    stands after this bounce.
    """
    bounce.reveal_id, bounce.employer_domain = reveal.reveal_id, reveal.employer_domain
    store.matched(bounce)
    if record is not None and cast(Status, record.status) in SETTLED_STATUSES:
        return record
    facts, hit = reveal_facts(reveal), bounce_facts(bounce)
    has_mail_host: bool | None = None
    if eligibility.needs_dns_check(facts, hit, rules.window_days):
        has_mail_host = await rules.hosts.has_mail_host(eligibility.domain_of(reveal.email))
    assessment = eligibility.assess(facts, hit, has_mail_host, rules.window_days)
    merged = eligibility.merge(
        cast(Status, record.status) if record else None,
        cast(Basis, record.basis) if record else None,
        assessment,
    )
    if merged is None:
        return record
    if record is None:
        record = Refund(
            refund_id=refund_id_for(reveal.workspace_id, reveal.reveal_id),
            workspace_id=reveal.workspace_id,
            reveal_id=reveal.reveal_id,
            contact_id=reveal.contact_id,
            email=reveal.email,
            bounce_id=bounce.bounce_id,
            status=merged.status,
            basis=merged.basis,
            explanation=merged.explanation,
            credits=reveal.credits,
        )
        store.add_refund(record)
    else:
        record.bounce_id = bounce.bounce_id
        record.status, record.basis, record.explanation = merged.status, merged.basis, merged.explanation
        record.updated_at = utcnow()
        store.changed(record)
    store.publish(events_out.eligibility_recorded(record))
    log.debug(
        "refund eligibility recorded",
        refund_id=record.refund_id,
        bounce_id=bounce.bounce_id,
        status=record.status,
        basis=record.basis,
    )
    return record


async def flag_employer_if_spiking(store: RefundStore, bounce: Bounce, rules: SpikeRules) -> None:
    """Emit ``employer.bounce_spike`` for each period whose window the matched hard bounce makes spike
    (``domain.spike.spikes_touched_by``); periods flagged already are never flagged again, and when
    every window the bounce falls in ends in one, nothing is counted."""
    if bounce.category != HARD or bounce.employer_domain is None:
        return
    workspace_id, employer_domain, days = bounce.workspace_id, bounce.employer_domain, rules.window_days
    history = await store.spike_history(workspace_id, employer_domain, bounce.bounced_at, days)
    if history is None:
        return
    hard, seen = history.facts()
    found = spike.spikes_touched_by(
        hard, seen, bounce.bounced_at, days, rules.min_contacts, rules.min_rate, skip=history.flagged
    )
    for period_start, window in found.items():
        flag = Spike(
            workspace_id=workspace_id,
            employer_domain=employer_domain,
            period_start=period_start,
            detected_at=utcnow(),
            hard_bounces=window.hard_bounces,
            distinct_contacts=window.distinct_contacts,
            reveals=window.reveals,
            rate=window.rate,
        )
        store.flag(flag)
        store.publish(events_out.bounce_spike(flag, days))


async def on_message_bounced(
    bounced: MessageBounced,
    meta: EventMeta,
    store: RefundStore,
    *,
    rules: EligibilityRules,
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
    await apply_bounce(store, reveal, record, bounce, rules)
    await flag_employer_if_spiking(store, bounce, spikes)
