"""The one place the refund-service registers what it consumes: topic -> payload model -> handler."""

from collections.abc import Sequence
from functools import partial
from typing import Any

from refund_service.domain.eligibility import DEAD_DOMAIN_REASONS, domain_of
from refund_service.mail_hosts import DomainChecker, MailHosts, domain_checker
from refund_service.on_contact_revealed import on_contact_revealed
from refund_service.on_message_bounced import EligibilityRules, SpikeRules, on_message_bounced
from refund_service.settings import RefundSettings
from refund_service.store import HARD, RefundStore
from seevee_shared.bus import Event, Handlers, of_type, on
from seevee_shared.events import ContactRevealed, MessageBounced, Topic


def domains_to_check(events: Sequence[Event[Any]]) -> set[str]:
    """The domains a poll's bounces may need DNS for: hard bounces whose reason does not settle it."""
    return {
        domain_of(event.payload.recipient)
        for event in of_type(events, MessageBounced)
        if event.payload.category == HARD and event.payload.reason not in DEAD_DOMAIN_REASONS
    }


def handlers(settings: RefundSettings, checker: DomainChecker | None = None) -> Handlers[RefundStore]:
    """The registry, bound to the service's rules and its DNS check (resolved before each poll's
    transaction opens)."""
    hosts = MailHosts(checker or domain_checker(settings))
    eligibility = EligibilityRules(settings.refund_window_days, hosts)
    spikes = SpikeRules(settings.spike_window_days, settings.spike_min_contacts, settings.spike_min_rate)

    async def prepare(events: Sequence[Event[Any]]) -> None:
        await hosts.prepare(domains_to_check(events))

    return Handlers(
        store=partial(RefundStore, spike_window_days=settings.spike_window_days),
        topics={
            Topic.CONTACT_REVEALED: on(
                ContactRevealed, partial(on_contact_revealed, rules=eligibility, spikes=spikes)
            ),
            Topic.MESSAGE_BOUNCED: on(
                MessageBounced, partial(on_message_bounced, rules=eligibility, spikes=spikes)
            ),
        },
        prepare=prepare,
    )
