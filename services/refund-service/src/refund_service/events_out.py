"""What the refund-service publishes, and as whom."""

import uuid
from typing import cast

from refund_service.domain.eligibility import Basis, Status
from refund_service.domain.rows import Refund, Spike
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import EmployerBounceSpike, EventData, RefundDecided, RefundEligibilityRecorded
from seevee_shared.ids import name_id

SOURCE = "/seevee/refund-service"
_EVENT_NAMESPACE = uuid.UUID("5d1c2b3a-4e5f-5a6b-9c7d-8e9f0a1b2c3d")


def _event_id(*parts: str) -> str:
    """Derived from what the event says happened, so a re-applied poll can only publish it again
    under the same id (which the outbox and every inbox then absorb)."""
    return name_id(_EVENT_NAMESPACE, "\x1f".join(parts))


def _refund(
    record: Refund, model: type[RefundEligibilityRecorded] | type[RefundDecided], event_id: str
) -> CloudEvent:
    data = model(
        refund_id=record.refund_id,
        reveal_id=record.reveal_id,
        contact_id=record.contact_id,
        bounce_id=record.bounce_id,
        status=cast(Status, record.status),
        basis=cast(Basis, record.basis),
        credits=record.credits,
        decided_by=record.decided_by or record.requested_by,  # who acted last: support, else the requester
    )
    return CloudEvent.build(
        data, source=SOURCE, workspace_id=record.workspace_id, subject=record.contact_id, event_id=event_id
    )


def eligibility_recorded(record: Refund) -> CloudEvent:
    """`refund.eligibility_recorded`, each time a bounce sets or strengthens a refund."""
    event_id = _event_id(model_topic(RefundEligibilityRecorded), record.refund_id, record.bounce_id)
    return _refund(record, RefundEligibilityRecorded, event_id)


def refund_decided(record: Refund) -> CloudEvent:
    """`refund.decided`, each time a person requests, approves or denies a refund."""
    event_id = _event_id(model_topic(RefundDecided), record.refund_id, record.status)
    return _refund(record, RefundDecided, event_id)


def bounce_spike(spike: Spike, window_days: int) -> CloudEvent:
    """`employer.bounce_spike`: no contact owns it, so the employer domain is its subject and key."""
    data = EmployerBounceSpike(
        employer_domain=spike.employer_domain,
        window_days=window_days,
        hard_bounces=spike.hard_bounces,
        distinct_contacts=spike.distinct_contacts,
        reveals=spike.reveals,
        rate=round(spike.rate, 4),
        detected_at=spike.detected_at,
    )
    event_id = _event_id(
        model_topic(EmployerBounceSpike),
        spike.workspace_id,
        spike.employer_domain,
        spike.period_start.isoformat(),
    )
    return CloudEvent.build(
        data,
        source=SOURCE,
        workspace_id=spike.workspace_id,
        subject=spike.employer_domain,
        event_id=event_id,
    )


def model_topic(model: type[EventData]) -> str:
    return model.topic
