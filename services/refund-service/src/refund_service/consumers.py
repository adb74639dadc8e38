"""The one place the refund-service's reactions to events are registered."""

from refund_service.employer_spikes import SpikeRules
from refund_service.mail_hosts import DomainChecker, domain_checker
from refund_service.on_contact_revealed import OnContactRevealed
from refund_service.on_message_bounced import OnMessageBounced
from refund_service.refunds import EligibilityRules
from refund_service.settings import RefundSettings
from refund_service.store import prefetch_bounces
from seevee_shared.bus import Handler
from seevee_shared.bus.consumer import PrefetchingHandler
from seevee_shared.events import Topic


def handlers(settings: RefundSettings, checker: DomainChecker | None = None) -> dict[str, Handler]:
    """HANDLERS of this service, bound to its rules and its DNS check."""
    eligibility = EligibilityRules(settings.refund_window_days, checker or domain_checker(settings))
    spikes = SpikeRules(settings.spike_window_days, settings.spike_min_contacts, settings.spike_min_rate)
    return {
        Topic.CONTACT_REVEALED: OnContactRevealed(eligibility, spikes),
        # The poll's reveals, refund records and stored bounces are loaded up front (see ``store``).
        Topic.MESSAGE_BOUNCED: PrefetchingHandler(OnMessageBounced(eligibility, spikes), prefetch_bounces),
    }
